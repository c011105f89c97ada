// End-to-end: kill -9 of the server while dozens of applies are in flight. Every apply the server
// acknowledged (HTTP 200 with a version) must be on record after the restart, with the spec it sent:
// an acknowledgement before the write reached the disk is exactly the bug this test is for, and it
// only shows when the kill lands while many applies wait on one commit (one at a time, the window
// between an early 200 and the write is a fraction of a millisecond).

import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApplyResult } from "../src/api/types.ts";
import type { JobVersion } from "../src/model/index.ts";
import { Cluster, compile, sleeperSource } from "./harness.ts";

/** Applies kept in flight at once, each worker applying new versions of its own job. */
const Workers = 48;
/** Jobs with a task (the rest have 0 replicas): the cluster must converge on them after the restart. */
const Running = 6;

interface Ack {
  name: string;
  version: number;
  /** The env value only this apply sent. */
  n: string;
}

void test("kill -9 of the server with dozens of applies in flight: every acknowledged apply is on record after the restart; the cluster converges", { timeout: 180_000 }, async (t) => {
  const c = await Cluster.start({ agents: 3 });
  t.after(() => c.stop());
  const acks: Ack[] = [];
  const refused: string[] = [];
  let inFlight = 0;
  let killedAt: number | null = null;
  let lostAtKill = 0;
  const worker = async (w: number): Promise<void> => {
    const name = `burst-${w}`;
    for (let i = 0; killedAt === null; i++) {
      const n = `${w}-${i}`;
      const spec = compile({ name, command: ["node", "-e", sleeperSource], env: { N: n }, replicas: w < Running ? 1 : 0, resources: { cpu: 0.01, memory: "16Mi", disk: "16Mi" } });
      inFlight++;
      try {
        const r = await c.api<ApplyResult>("POST", "/v1/jobs", { spec });
        // A status came back: the server answered, so it must be a yes (each apply is a new version
        // of a job only this worker writes: no conflict, nothing invalid).
        if (r.status === 200) acks.push({ name, version: r.body.version, n });
        else refused.push(`${name} ${n}: ${r.status} ${JSON.stringify(r.body)}`);
      } catch (err) {
        // No answer: only the kill may cause that.
        if (killedAt === null) refused.push(`${name} ${n}: ${String(err)}`);
        else lostAtKill++;
        return;
      } finally {
        inFlight--;
      }
    }
  };
  const workers = Array.from({ length: Workers }, (_, w) => worker(w));
  // Warm up (every job exists, a few versions each), then kill while most workers wait on an answer.
  const started = Date.now();
  while (killedAt === null && Date.now() - started < 60_000) {
    if (acks.length >= 3 * Workers && inFlight >= (3 * Workers) / 4) {
      killedAt = Date.now();
      c.killServer();
      break;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const inFlightAtKill = inFlight;
  killedAt ??= Date.now();
  await Promise.all(workers);
  t.diagnostic(`${acks.length} applies acknowledged; kill -9 with ${inFlightAtKill} in flight (${lostAtKill} got no answer)`);
  assert.deepEqual(refused, [], "before the kill, every apply was acknowledged");
  assert.ok(inFlightAtKill >= (3 * Workers) / 4, `the kill landed with ${inFlightAtKill} applies in flight`);

  await c.startServer();
  const missing: string[] = [];
  for (let w = 0; w < Workers; w++) {
    const name = `burst-${w}`;
    const r = await c.api<JobVersion[]>("GET", `/v1/jobs/${name}/versions`);
    assert.equal(r.status, 200, `${name} versions: ${JSON.stringify(r.body)}`);
    const stored = new Map(r.body.map((v) => [v.version, v.spec.env["N"]]));
    for (const a of acks.filter((x) => x.name === name)) {
      if (stored.get(a.version) !== a.n) missing.push(`${name} v${a.version} (N=${a.n}): found ${stored.has(a.version) ? `N=${stored.get(a.version)}` : "nothing"}`);
    }
  }
  assert.deepEqual(missing, [], `acknowledged applies lost by kill -9 (of ${acks.length})`);
  for (let w = 0; w < Running; w++) await c.waitRunning(`burst-${w}`, 60_000);
});
