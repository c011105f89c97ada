// End-to-end: kill -9 of the server while dozens of applies are in flight. Every apply the server
// acknowledged (HTTP 200 with a version) must be on record after the restart, with the spec it sent:
// an acknowledgement before the write reached the disk is exactly the bug this test is for, and it
// only shows when the kill lands while many applies wait on one commit (one at a time, the window
// between an early 200 and the write is a fraction of a millisecond). Three rounds of apply, kill,
// restart, check: an acknowledgement a few milliseconds early is caught by most single kills, and
// by three nearly always.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApplyResult } from "../src/api/types.ts";
import type { JobVersion } from "../src/model/index.ts";
import { Cluster, compile, sleeperSource } from "./harness.ts";

/** Applies kept in flight at once, each worker applying new versions of its own job. */
const Workers = 48;
/** Jobs with a task (the rest have 0 replicas): the cluster must converge on them after the restart. */
const Running = 6;
/** Kills per test: each lands at another point of the server's write cycle. */
const Rounds = 3;

interface Ack {
  name: string;
  version: number;
  /** The env value only this apply sent. */
  n: string;
}

void test("kill -9 of the server with dozens of applies in flight, 3 times: every acknowledged apply is on record after each restart; the cluster converges", { timeout: 300_000 }, async (t) => {
  const c = await Cluster.start({ agents: 3 });
  t.after(() => c.stop());
  const acks: Ack[] = [];
  for (let round = 1; round <= Rounds; round++) {
    const r = await applyAndKill(c, round, acks);
    t.diagnostic(`round ${round}: ${r.acked} applies acknowledged; kill -9 with ${r.inFlightAtKill} in flight (${r.unanswered} got no answer)`);
    assert.deepEqual(r.refused, [], `round ${round}: before the kill, every apply was acknowledged`);
    assert.ok(r.inFlightAtKill >= (3 * Workers) / 4, `round ${round}: the kill landed with ${r.inFlightAtKill} applies in flight`);
    await c.startServer();
    assert.deepEqual(await missingAcks(c, acks), [], `round ${round}: acknowledged applies lost by kill -9 (of ${acks.length} so far)`);
  }
  for (let w = 0; w < Running; w++) await c.waitRunning(`burst-${w}`, 60_000);
});

/** Runs the workers until at least 3 acks each (this round) and most of them wait on an answer, then
 * kills the server; records every acknowledgement in `acks`. */
async function applyAndKill(c: Cluster, round: number, acks: Ack[]): Promise<{ acked: number; inFlightAtKill: number; unanswered: number; refused: string[] }> {
  const refused: string[] = [];
  let acked = 0;
  let inFlight = 0;
  let killed = false;
  let unanswered = 0;
  const worker = async (w: number): Promise<void> => {
    const name = `burst-${w}`;
    for (let i = 0; !killed; i++) {
      const n = `${round}-${w}-${i}`;
      const spec = compile({ name, command: ["node", "-e", sleeperSource], env: { N: n }, replicas: w < Running ? 1 : 0, resources: { cpu: 0.01, memory: "16Mi", disk: "16Mi" } });
      inFlight++;
      try {
        const r = await c.api<ApplyResult>("POST", "/v1/jobs", { spec });
        // A status came back: the server answered, so it must be a yes (each apply is a new version
        // of a job only this worker writes: no conflict, nothing invalid).
        if (r.status === 200) {
          acks.push({ name, version: r.body.version, n });
          acked++;
        } else refused.push(`${name} ${n}: ${r.status} ${JSON.stringify(r.body)}`);
      } catch (err) {
        // No answer: only the kill may cause that.
        if (!killed) refused.push(`${name} ${n}: ${String(err)}`);
        else unanswered++;
        return;
      } finally {
        inFlight--;
      }
    }
  };
  const workers = Array.from({ length: Workers }, (_, w) => worker(w));
  const started = Date.now();
  let inFlightAtKill = 0;
  while (!killed) {
    if ((acked >= 3 * Workers && inFlight >= (3 * Workers) / 4) || Date.now() - started > 60_000) {
      inFlightAtKill = inFlight;
      killed = true;
      c.killServer();
    } else await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(workers);
  return { acked, inFlightAtKill, unanswered, refused };
}

/** Acknowledged applies whose version is not on record with the spec that apply sent. */
async function missingAcks(c: Cluster, acks: Ack[]): Promise<string[]> {
  const missing: string[] = [];
  for (let w = 0; w < Workers; w++) {
    const name = `burst-${w}`;
    const r = await c.api<JobVersion[]>("GET", `/v1/jobs/${name}/versions`);
    if (r.status !== 200) {
      missing.push(`${name}: versions answered ${r.status} ${JSON.stringify(r.body)}`);
      continue;
    }
    const stored = new Map(r.body.map((v) => [v.version, v.spec.env["N"]]));
    for (const a of acks.filter((x) => x.name === name)) {
      if (stored.get(a.version) !== a.n) missing.push(`${name} v${a.version} (N=${a.n}): found ${stored.has(a.version) ? `N=${stored.get(a.version)}` : "nothing"}`);
    }
  }
  return missing;
}
