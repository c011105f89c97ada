import assert from "node:assert/strict";
import { test } from "node:test";
import { MaxCheckHistory, MaxChecksPerHost } from "../../model/index.ts";
import type { MachineCheckResult } from "../../model/index.ts";
import { failingChecksByHost, mergeChecks } from "./checks-store.ts";

const r = (name: string, status: MachineCheckResult["status"], message = `${name} ${status}`): MachineCheckResult => ({ name, status, message, at: 1 });

void test("merging check changes: since moves only on a status change, history bounded, times are the server's", () => {
  let hc = mergeChecks(null, "h1", [r("disk", "pass"), r("custom:ecc", "fail")], 100);
  assert.deepEqual(Object.keys(hc.checks).sort(), ["custom:ecc", "disk"]);
  assert.equal(hc.checks["disk"]?.at, 100, "the server's clock, not the agent's");
  hc = mergeChecks(hc, "h1", [r("disk", "pass", "new message")], 200);
  assert.equal(hc.checks["disk"]?.since, 100, "same status: since kept");
  assert.equal(hc.checks["disk"]?.message, "new message");
  assert.equal(hc.checks["disk"]?.history.length, 1);
  for (let i = 0; i < 30; i++) hc = mergeChecks(hc, "h1", [r("disk", i % 2 === 0 ? "fail" : "pass")], 300 + i);
  assert.equal(hc.checks["disk"]?.history.length, MaxCheckHistory);
  assert.equal(hc.checks["disk"]?.history.at(-1)?.at, 329, "newest last");
  assert.equal(hc.checks["custom:ecc"]?.status, "fail", "checks not in a partial report are kept");
  assert.deepEqual(failingChecksByHost([hc]).get("h1")?.map((c) => c.name), ["disk", "custom:ecc"].filter((n) => hc.checks[n]?.status === "fail"));
});

void test("a complete set forgets checks the agent no longer runs; a host holds at most MaxChecksPerHost", () => {
  let hc = mergeChecks(null, "h1", [r("disk", "pass"), r("custom:gone", "fail")], 1);
  hc = mergeChecks(hc, "h1", [r("disk", "pass")], 2, true);
  assert.deepEqual(Object.keys(hc.checks), ["disk"]);
  assert.equal(failingChecksByHost([hc]).has("h1"), false);
  const many = Array.from({ length: MaxChecksPerHost + 10 }, (_, i) => r(`custom:${i}`, "pass"));
  assert.equal(Object.keys(mergeChecks(null, "h1", many, 1).checks).length, MaxChecksPerHost);
});
