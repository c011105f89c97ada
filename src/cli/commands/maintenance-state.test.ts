// How `tiffin maintenance list` words a window's state (maintenance.ts windowState), by table.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MaintenanceWindow } from "../../model/index.ts";
import { renderWindows, windowState } from "./maintenance.ts";

const w = (over: Partial<MaintenanceWindow> = {}): MaintenanceWindow => ({ id: "w", scope: "rack", target: "r1", start: 0, durationMs: 10_000, reason: "x", leadMs: null, closeMs: 1_000, createdAt: 0, cancelledAt: null, ...over });

void test("maintenance list: an overrun window says which hosts are out, then by how much it overran", () => {
  assert.match(windowState(w({ overrun: { at: 10_500, hosts: ["a"], backAt: null } }), 70_000), /^OVERRUN for 1m00s: a not back/);
  assert.equal(windowState(w({ overrun: { at: 10_500, hosts: [], backAt: 100_000 } }), 200_000), "ended, overran by 1m30s");
  assert.equal(windowState(w(), 200_000), "ended");
  assert.deepEqual([-2_000, -500, 5_000].map((t) => windowState(w(), t)), ["planned", "closing", "active"]);
  assert.equal(windowState(w({ cancelledAt: 1, overrun: { at: 10_500, hosts: ["a"], backAt: null } }), 20_000), "cancelled");
});

void test("maintenance list: a closing window's report shows what holds each job on its hosts, as a drain does", () => {
  const since = 1_000;
  const out = renderWindows([w({ report: [{ host: "alpha", blocked: [{ job: "db", reason: "approval", detail: "task 0: compaction running", tasks: [0], since }] }] })], -500);
  assert.match(out, /window w: jobs still held on its hosts\n {2}host alpha:\n {4}db \[task 0\]: waiting for approval for \d+s - task 0: compaction running\n$/);
  assert.doesNotMatch(renderWindows([w({ report: [] })], -500), /held/);
});
