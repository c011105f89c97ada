// The recommender inside a real server (SQLite in a temp dir, HTTP API, a fake agent reporting its
// tasks' usage): an OOM-killed attempt's limit bounds the recommendation from below; a job with
// `adapt` gets one new version by "tiffin recommender" within its bounds and no second one within
// `every`; a job without `adapt` gets none.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { ApiClient } from "../../api/client.ts";
import type { Recommendation, ResourceUsage } from "../../model/index.ts";
import { startServer } from "../main.ts";
import { specOf } from "../testing/fixtures.ts";
import { eventually, FakeAgent, tempDir } from "../testing/harness.ts";

const MiB = 1024 * 1024;
const minute = 60_000;

void test("recommendations and adapted versions in a real server", { timeout: 60_000 }, async (t) => {
  const dir = tempDir();
  const server = await startServer({ dataDir: dir, listen: "127.0.0.1:0", log: "silent", recommend: { minSamples: 20, adaptCheckMs: 200 } });
  const agent = new FakeAgent(server.url, "h1");
  const beat = setInterval(() => void agent.heartbeat().catch(() => {}), 200);
  t.after(async () => {
    clearInterval(beat);
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const api = new ApiClient({ addr: server.url, token: server.adminToken });
  await agent.register(server.joinToken);
  await agent.heartbeat();
  const res = { cpu: 1, memoryMiB: 512, diskMiB: 64 };
  const adapt = { min: { cpu: null, memoryMiB: 64 }, max: { cpu: 0.5, memoryMiB: null }, everyMs: 3_600_000 };
  await api.apply(specOf({ name: "web", replicas: 1, resources: res, adapt }));
  await api.apply(specOf({ name: "plain", replicas: 1, resources: res }));
  await api.apply(specOf({ name: "oomy", replicas: 1, resources: { ...res, memoryMiB: 256 } }));
  const attemptOf = (job: string, not: string | null = null): Promise<string> =>
    eventually(`an attempt of ${job}`, async () => {
      const id = (await api.job(job)).tasks[0]?.attemptId ?? null;
      return id !== not ? id : null;
    });

  // oomy's first attempt is OOM-killed; its next one runs small.
  const first = await attemptOf("oomy");
  await agent.report([{ id: first, state: "exited", exitCode: 137, endCause: "oom", startedAt: Date.now() - 40 * minute, endedAt: Date.now() - 30 * minute }]);
  const ids = { web: await attemptOf("web"), plain: await attemptOf("plain"), oomy: await attemptOf("oomy", first) };
  // 20 per-minute samples of each: 20 MiB, 0.1 cores (minSamples 20: the adapter cannot act on part of them).
  const now = Date.now();
  for (let i = 20; i >= 1; i--) {
    const usage: ResourceUsage = { at: now - i * minute, cpuSeconds: 100 - i, cpuCores: 0.1, memoryBytes: 20 * MiB, memoryPeakBytes: null, pids: 2, throttledSeconds: 0, cpuPeriods: (25 - i) * 600, cpuThrottledPeriods: 0, oomKills: 0 };
    await agent.report(Object.values(ids).map((id) => ({ id, state: "running" as const, pid: 10, startedAt: now - 25 * minute, usage })));
  }

  const oomy = await eventually("oomy's recommendation", async () => {
    const r = await api.recommendation("oomy");
    return r.recommended !== null ? r : null;
  });
  assert.equal(oomy.evidence.memory.oomKills, 1);
  assert.equal(oomy.evidence.memory.oomLimitMiB, 256);
  assert.equal(oomy.recommended?.memoryMiB, 320, "256 MiB + 15%, rounded up: never below the limit it was killed at");
  assert.match(oomy.changes.find((c) => c.field === "memoryMiB")?.why ?? "", /OOM-killed 1 time with a limit of 256 MiB/);
  assert.equal(oomy.adapt, null, "no adapt: recommend only");

  const plain = await api.recommendation("plain");
  assert.deepEqual(plain.recommended, { cpu: 0.15, memoryMiB: 32, diskMiB: 64 });
  assert.equal(plain.evidence.samples, 20);
  assert.equal(plain.evidence.cpu.throttledShare, 0, "the reported CPU periods reached the history");

  const v2 = await eventually("web's adapted version", async () => (await api.versions("web")).find((v) => v.version === 2));
  assert.equal(v2.by, "tiffin recommender");
  assert.deepEqual(v2.spec.resources, { cpu: 0.15, memoryMiB: 64, diskMiB: 64 }, "memory held at adapt.min (64), cpu recommended (within max 0.5), disk as it was");
  assert.equal(v2.message, "adapted from usage: memory 512 -> 64 MiB (recommended 32 MiB, bounded by adapt): peak 20 MiB over 20 samples + 15% headroom; cpu 1 -> 0.15 cores: p95 0.1 cores over 20 samples + 15% headroom");
  assert.deepEqual(v2.spec.adapt, adapt);

  // A second pass (every 200 ms) within `every` stores nothing more, and plain is never adapted.
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual((await api.versions("web")).map((v) => v.version), [1, 2]);
  assert.deepEqual((await api.versions("plain")).map((v) => v.version), [1]);
  const web: Recommendation = await api.recommendation("web");
  assert.match(web.adapt?.note ?? "", /would apply|no significant change/);
  const all = await api.recommendations();
  assert.deepEqual(all.map((r) => r.job), ["oomy", "plain", "web"]);
  await assert.rejects(api.recommendation("nope"), /job "nope" not found/);
});
