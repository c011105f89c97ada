import { test } from "node:test";
import assert from "node:assert/strict";
import { attempt } from "../testing/fixtures.ts";
import { afterFailure, endOf, parkAfterFailures, parkedReason } from "./restart-policy.ts";

void test("afterFailure: restart in place, move every moveAfterFailures-th failure, park after that on up to 3 hosts", () => {
  const r = { backoffInitialMs: 1000, backoffMaxMs: 60_000, moveAfterFailures: 5 };
  const cases: [string, number, number, boolean, string][] = [
    ["first failure", 1, 3, false, "restart"],
    ["4th", 4, 3, false, "restart"],
    ["5th moves", 5, 3, false, "move"],
    ["6th, on the next host: restart there (the count survived the move)", 6, 3, false, "restart"],
    ["10th moves again", 10, 3, false, "move"],
    ["15th on 3 hosts parks", 15, 3, false, "park"],
    ["15th on 10 hosts parks too (3 hosts are enough)", 15, 10, false, "park"],
    ["one host: parked after its 5th", 5, 1, false, "park"],
    ["no host up counts as one", 5, 0, false, "park"],
    ["a health failure with action move moves at once", 2, 3, true, "move"],
  ];
  for (const [name, failures, hosts, healthMove, want] of cases) assert.equal(afterFailure(r, failures, hosts, healthMove), want, name);
  assert.equal(parkAfterFailures(r, 2), 10);
});

void test("parkedReason: failures, hosts and the distinct ends of the last attempts", () => {
  const ended = [
    attempt("a1", 0, { state: "exited", exitCode: 3, createdAt: 1 }),
    attempt("a2", 0, { state: "exited", exitCode: 3, createdAt: 2, hostId: "h2" }),
    attempt("a3", 0, { state: "exited", signal: "SIGKILL", createdAt: 3, hostId: "h2" }),
    attempt("a0", 0, { state: "exited", exitCode: 9, createdAt: 0, hostId: "h3" }),
  ];
  assert.equal(parkedReason(3, ended), "failed 3 times in a row on 2 hosts (killed by SIGKILL; exit code 3); `tiffin restart` or the next apply tries again");
  assert.equal(endOf(attempt("x", 0, { state: "failed", reason: "start failed: no such file" })), "start failed: no such file");
});
