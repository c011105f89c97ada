// A rollout's metric comparison across kill -9 of the leading server (issue 14): two servers on one
// etcd, simulated agents that report a named counter (errors_total) for each running task through
// whichever server they talk to (followers relay reports to the leader, whose memory holds them). The
// leader is killed as soon as phase 1's bake begins, before it can judge. The next leader holds only
// the readings since it took over: it re-collects a whole bake of them (saying so in status) and then
// reaches the verdict the first leader would have: v2's errors equal v1's, so phase 1 passes.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, test } from "node:test";
import { createAgentClient } from "../api/agent-client.ts";
import type { Rollout } from "../model/index.ts";
import { etcdAvailable, startEtcd } from "../state/etcd-testing.ts";
import type { EtcdCluster } from "../state/etcd-testing.ts";
import { compileJobs } from "../spec/validate.ts";
import { SimAgent, startServerProcess } from "./testing/cluster.ts";
import type { ServerProcess } from "./testing/cluster.ts";
import { eventually, tempDir } from "./testing/harness.ts";

const skip = etcdAvailable() ? false : "etcd is not installed (apt-get install etcd-server)";
const timing = { heartbeatMs: 300, suspectMs: 1500, downMs: 6000, fenceMs: 3000 };
const BAKE_MS = 3000;
const undo: (() => unknown)[] = [];
after(async () => {
  for (const fn of undo.reverse()) await fn();
});

void test("kill -9 of the leader in a bake: the next leader re-collects the named readings and reaches the same verdict", { skip, timeout: 90_000 }, async (t) => {
  const etcd: EtcdCluster = await startEtcd({ members: 1 });
  undo.push(() => etcd.stop());
  const servers: ServerProcess[] = [];
  for (let i = 0; i < 2; i++) {
    const dataDir = tempDir();
    undo.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const s = await startServerProcess({ dataDir, endpoints: etcd.endpoints, prefix: "/judge-ha", timing, leaderTtlMs: 1500 });
    undo.push(() => s.stop());
    servers.push(s);
  }
  const [s0, s1] = servers as [ServerProcess, ServerProcess];
  assert.equal(await s0.leading(), true, "the first server leads");
  // Each agent talks to the follower first, so its reports reach the leader through the relay.
  const urls = [s1.url, s0.url];
  const sims = [new SimAgent(urls, "host-0"), new SimAgent(urls, "host-1")];
  for (const a of sims) {
    await a.start(s0.joinToken, { heartbeatMs: timing.heartbeatMs, timeoutMs: 1500 });
    undo.push(() => a.stop());
  }
  // Every 200 ms, each running attempt's errors_total: one error a second, whatever the version.
  let reporting = true;
  const client = createAgentClient(urls.join(","), 1500);
  const started = Date.now();
  const reports = (async () => {
    while (reporting) {
      const now = Date.now();
      for (const a of sims) {
        const tasks = a.latest.filter((x) => x.attempt.desired === "run").map((x) => ({
          attemptId: x.attempt.id, at: now, up: true, scrapes: 1, scrapeErrors: 0, lastError: null, series: 1, scrapeMs: 1, clients: null, errorsPerSec: null, latencySeconds: null,
          named: [{ name: "errors_total", at: now, value: (now - started) / 1000 + (x.attempt.index % 3) * 0.01, buckets: null }],
        }));
        if (tasks.length > 0 && a.reg) await client.reportMetrics?.(a.reg.hostToken, { hostId: a.reg.hostId, tasks });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  t.after(async () => {
    reporting = false;
    await reports;
  });

  const jobOf = (v: string) => {
    const { specs, problems } = compileJobs({
      name: "web", command: ["/bin/sleep", "1000"], isolation: "none", replicas: 4, env: { V: v }, resources: { cpu: 0.1, memory: "32Mi", disk: "1Mi" },
      ports: ["http"], metrics: { port: "http", interval: "1s", timeout: "500ms" },
      rollout: { phases: [1, "all"], bake: `${BAKE_MS}ms`, deadline: "60s", maxUnavailable: 1, checks: { crashRate: false, metrics: [{ counter: "errors_total", tolerance: "50%", slack: 0.2, minSamples: 3 }] } },
    }, "test");
    assert.deepEqual(problems, []);
    const spec = specs[0];
    assert.ok(spec);
    return spec;
  };
  await s0.api.apply(jobOf("1"));
  await eventually("v1's 4 tasks running", async () => (await s0.api.job("web")).tasks.filter((x) => x.state === "running").length === 4, 30_000);
  await s0.api.apply(jobOf("2"));
  const rollouts = async (s: ServerProcess): Promise<Rollout[]> => (await fetch(`${s.url}/v1/jobs/web/rollouts`, { headers: { authorization: `Bearer ${s.adminToken}` } }).then((r) => r.json())) as Rollout[];
  // Phase 1's bake begins (its new task serves): kill -9 the leader before it could judge.
  const baking = await eventually("phase 1 baking", async () => {
    const r = (await rollouts(s0)).find((x) => x.version === 2);
    return r?.phases[0]?.healthyAt != null ? r : false;
  }, 30_000);
  const killedAt = Date.now();
  assert.equal(baking.phases[0]?.outcome, null, "the first leader had not judged phase 1 yet");
  s0.child.kill("SIGKILL");
  // The next leader first says it re-collects, then passes phase 1 on a whole bake of its own readings.
  let said = "";
  const passed = await eventually("phase 1 passed under the next leader", async () => {
    const r = (await rollouts(s1)).find((x) => x.version === 2);
    const metric = r?.phases[0]?.checks.find((c) => c.name === "metric rate of errors_total");
    if (metric && /re-collecting since the leader change/.test(metric.detail)) said = metric.detail;
    return r?.phases[0]?.outcome === "passed" ? r : false;
  }, 40_000);
  const phase = passed.phases[0];
  const metric = phase?.checks.find((c) => c.name === "metric rate of errors_total");
  t.diagnostic(`killed at +0, phase 1 passed at +${(phase?.endedAt ?? 0) - killedAt} ms (bake ${BAKE_MS} ms); said: ${said}; verdict: ${metric?.detail ?? ""}`);
  assert.equal(metric?.verdict, "pass", JSON.stringify(phase?.checks));
  assert.match(said, /re-collecting since the leader change/, "status said it re-collected");
  // The next leader took over after the kill and judged only after a whole bake of its own readings.
  assert.ok((phase?.endedAt ?? 0) - killedAt >= BAKE_MS, `phase 1 passed ${(phase?.endedAt ?? 0) - killedAt} ms after the kill: less than a bake of the new leader's own readings`);
});
