// The server's checks of agent bodies, by table: what is taken, and every problem's path.
import assert from "node:assert/strict";
import { test } from "node:test";
import { TiffinError } from "../../model/index.ts";
import { inventoryOf } from "../testing/fixtures.ts";
import { heartbeatOf, registerOf, reportOf } from "./agent-input.ts";

const update = { id: "a1", state: "running", pid: 10, exitCode: null, signal: null, reason: null, ports: { http: 8080 }, startedAt: 1, endedAt: null };

/** The problem paths of a rejected body ([] when it is taken). */
function paths(fn: () => unknown): string[] {
  try {
    fn();
    return [];
  } catch (err) {
    assert.ok(err instanceof TiffinError && err.code === "TIFFIN_BAD_REQUEST", String(err));
    return err.problems.map((p) => p.path).sort();
  }
}

const cases: { name: string; run: () => unknown; want: string[] }[] = [
  { name: "register: a real inventory", run: () => registerOf({ inventory: inventoryOf("alpha") }), want: [] },
  { name: "register: with a host token", run: () => registerOf({ inventory: inventoryOf("alpha"), hostToken: "t" }), want: [] },
  { name: "register: no inventory", run: () => registerOf({}), want: ["inventory"] },
  { name: "register: every bad field listed", run: () => registerOf({ inventory: { ...inventoryOf("alpha"), cores: 0, memoryMiB: -1, os: { id: 1, version: "12" }, address: "a/b:1" }, hostToken: "" }), want: ["hostToken", "inventory.address", "inventory.cores", "inventory.memoryMiB", "inventory.os.id"] },
  { name: "register: too many capabilities", run: () => registerOf({ inventory: { ...inventoryOf("alpha"), capabilities: Array(65).fill("CAP_CHOWN") } }), want: ["inventory.capabilities"] },
  { name: "heartbeat", run: () => heartbeatOf({ hostId: "h1", upgradeMs: 1000 }), want: [] },
  { name: "heartbeat: an upgrade over a day", run: () => heartbeatOf({ hostId: "h1", upgradeMs: 86_400_001 }), want: ["upgradeMs"] },
  { name: "heartbeat: no host id", run: () => heartbeatOf({ hostId: "" }), want: ["hostId"] },
  { name: "report", run: () => reportOf({ hostId: "h1", updates: [update, { ...update, id: "a2", state: "exited", endCause: "oom", incurable: false, usage: null }] }), want: [] },
  { name: "report: bad updates named by index", run: () => reportOf({ hostId: "h1", updates: [{ ...update, state: "dancing" }, { ...update, ports: { http: -1 } }, { ...update, usage: { at: 1, cpuSeconds: 1, cpuCores: null, memoryBytes: "1", memoryPeakBytes: null, pids: null } }, { ...update, endCause: "gremlins" }] }), want: ["updates[0].state", "updates[1].ports.http", "updates[2].usage.memoryBytes", "updates[3].endCause"] },
  { name: "report: usage with throttling and OOM kills", run: () => reportOf({ hostId: "h1", updates: [{ ...update, usage: { at: 1, cpuSeconds: 1, cpuCores: 0.5, memoryBytes: 1, memoryPeakBytes: null, pids: 1, throttledSeconds: 2.5, cpuPeriods: 10, cpuThrottledPeriods: 4, oomKills: 1 } }] }), want: [] },
  { name: "report: negative throttling and OOM kills", run: () => reportOf({ hostId: "h1", updates: [{ ...update, usage: { at: 1, cpuSeconds: 1, cpuCores: 0.5, memoryBytes: 1, memoryPeakBytes: null, pids: 1, throttledSeconds: -1, cpuThrottledPeriods: -1, oomKills: -2 } }] }), want: ["updates[0].usage.cpuThrottledPeriods", "updates[0].usage.oomKills", "updates[0].usage.throttledSeconds"] },
  { name: "report: updates not an array", run: () => reportOf({ hostId: "h1", updates: {} }), want: ["updates"] },
];

for (const c of cases) void test(c.name, () => assert.deepEqual(paths(c.run), c.want));

void test("register: an empty capability list is no capabilities (the stored host record compares equal)", () => {
  const { inventory } = registerOf({ inventory: { ...inventoryOf("alpha"), capabilities: [] } });
  assert.equal("capabilities" in inventory, false);
});

void test("report: fields an update does not have are not passed on", () => {
  const { updates } = reportOf({ hostId: "h1", updates: [{ ...update, desired: "run", hostId: "h9" }] });
  assert.deepEqual(updates[0], update);
});
