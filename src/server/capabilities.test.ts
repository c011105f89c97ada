// Capabilities at plan time (issue 10 item 3): a spec that asks for capabilities goes only to hosts
// whose agent allows them all (`tiffin agent --allow-capabilities`, reported in its inventory); the
// plan says why no other host fits, instead of the agent refusing the task after placement. The same
// for isolation "none" and agents that refuse unsandboxed tasks.

import { test } from "node:test";
import assert from "node:assert/strict";
import { specOf } from "./testing/fixtures.ts";
import { eventually, FakeAgent, startTestServer } from "./testing/harness.ts";

void test("a job asking for capabilities is planned and placed only on hosts that allow them", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const strict = new FakeAgent(ts.server.url, "strict");
  const lenient = new FakeAgent(ts.server.url, "lenient");
  await strict.register(ts.server.joinToken, { cores: 4, labels: { rack: "r1" } });
  await lenient.register(ts.server.joinToken, { cores: 4, labels: { rack: "r2" }, capabilities: ["CAP_NET_BIND_SERVICE"] });

  const web = specOf({ name: "web", replicas: 2, capabilities: ["CAP_NET_BIND_SERVICE"], spread: "none" });
  const plan = await ts.api.plan(web);
  assert.deepEqual(plan.unplaced, [], JSON.stringify(plan));
  await ts.api.apply(web);
  const placed = await eventually("both placed", async () => {
    const tasks = (await ts.api.job("web")).tasks;
    return tasks.length === 2 && tasks.every((x) => x.hostId !== null) ? tasks : null;
  });
  assert.deepEqual(placed.map((x) => x.hostId), [lenient.reg?.hostId, lenient.reg?.hostId]);

  const admin = specOf({ name: "admin", capabilities: ["CAP_SYS_ADMIN"] });
  const refused = await ts.api.plan(admin);
  assert.deepEqual(refused.unplaced, [{ index: 0, reasons: { capabilities: 2 } }]);
  await ts.api.apply(admin);
  const task = await eventually("explained", async () => (await ts.api.job("admin")).tasks.find((x) => x.reason !== null) ?? null);
  assert.equal(task.reason, "no host could ever fit it, even empty: capabilities on 2 hosts");

  // Isolation "none" (issue 17): only on hosts whose agent runs unsandboxed tasks (`--allow-unsandboxed`,
  // inventory `unsandboxed: true`; the fixtures' default). Strict restarts without it.
  await strict.register(ts.server.joinToken, { cores: 4, labels: { rack: "r1" }, unsandboxed: false });
  const raw = specOf({ name: "raw", replicas: 2, isolation: "none", spread: "none" });
  const rawPlan = await eventually("strict's new inventory is seen", async () => {
    const p = await ts.api.plan(raw);
    return p.placements.every((x) => x.hostId === lenient.reg?.hostId) ? p : null;
  });
  assert.deepEqual(rawPlan.unplaced, []);
  await lenient.register(ts.server.joinToken, { cores: 4, labels: { rack: "r2" }, capabilities: ["CAP_NET_BIND_SERVICE"], unsandboxed: false });
  const none = await eventually("lenient's new inventory is seen", async () => {
    const p = await ts.api.plan(raw);
    return p.unplaced.length > 0 ? p : null;
  });
  assert.deepEqual(none.unplaced, [{ index: 0, reasons: { "unsandboxed-refused": 2 } }, { index: 1, reasons: { "unsandboxed-refused": 2 } }]);
  await ts.api.apply(raw);
  const refusedRaw = await eventually("explained", async () => (await ts.api.job("raw")).tasks.find((x) => x.reason !== null) ?? null);
  assert.equal(refusedRaw.reason, "no host could ever fit it, even empty: unsandboxed-refused on 2 hosts");
});
