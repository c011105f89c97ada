// A per-second schedule across a leader change on a real 3-member etcd (issue 18): two servers in
// their own processes; kill -9 of the leading server just after a fire, together with kill -9 of the
// etcd member that leads etcd's raft (both leaders at once). The other server leads once the dead one's
// lease is gone and fires on. Run ids are fire times (`s<ms>`), so a fire handled by both servers would
// show as two runs of one time (refused: created only if absent), a lost one as a gap outside the
// outage; the fires of the outage make one run, the newest (missed: "once"). overlap "queue": every
// fire makes a run (no agent runs them), so the runs are the fires.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, test } from "node:test";
import { etcdAvailable, startEtcd } from "../state/etcd-testing.ts";
import type { EtcdCluster } from "../state/etcd-testing.ts";
import { compileJobs } from "../spec/validate.ts";
import { LateMs } from "./reconcile/schedule-fire.ts";
import { startServerProcess } from "./testing/cluster.ts";
import type { ServerProcess } from "./testing/cluster.ts";
import { tempDir } from "./testing/harness.ts";

const skip = etcdAvailable() ? false : "etcd is not installed (apt-get install etcd-server)";
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fireOf = (id: string): number => Number(id.slice(1));

let etcd: EtcdCluster | null = null;
const undo: (() => unknown)[] = [];
before(async () => {
  if (!skip) etcd = await startEtcd({ members: 3 });
});
after(async () => {
  for (const fn of undo.reverse()) await fn();
  await etcd?.stop();
});

/** The etcd member that leads etcd's raft. */
async function etcdLeader(endpoints: string[]): Promise<number> {
  for (const [i, e] of endpoints.entries()) {
    const res = await fetch(`${e}/v3/maintenance/status`, { method: "POST", body: "{}", signal: AbortSignal.timeout(2000) }).catch(() => null);
    const st = (await res?.json()) as { leader?: string; header?: { member_id?: string } } | undefined;
    if (st?.leader && st.leader === st.header?.member_id) return i;
  }
  throw new Error("no etcd leader found");
}

void test("a per-second schedule across kill -9 of the leading server and of etcd's leader: each fire once, the outage's fires as one run", { skip, timeout: 90_000 }, async () => {
  if (!etcd) throw new Error("no etcd");
  const endpoints = etcd.endpoints;
  const start = async (): Promise<ServerProcess> => {
    const dataDir = tempDir();
    undo.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const s = await startServerProcess({ dataDir, endpoints, prefix: "/schedule-ha", leaderTtlMs: 1000, scheduleTickMs: 100 });
    undo.push(() => s.stop());
    return s;
  };
  const leader = await start();
  while ((await leader.leading()) !== true) await sleep(50);
  const second = await start();
  const { specs, problems } = compileJobs({ name: "tick", command: "true", isolation: "none", batch: {}, schedule: { cron: "* * * * * *", overlap: "queue" } }, "test");
  assert.deepEqual(problems, []);
  assert.ok(specs[0]);
  await leader.api.apply(specs[0]);
  while ((await leader.api.runs("tick")).length < 3) await sleep(100);
  // Just after a fire (its write may or may not be in): both leaders at once.
  await sleep(1030 - (Date.now() % 1000));
  const killedAt = Date.now();
  etcd.kill(await etcdLeader(endpoints));
  leader.child.kill("SIGKILL");
  while ((await second.leading()) !== true) await sleep(50);
  const leadingAt = Date.now();
  await sleep(2300);
  const stoppedAt = Date.now();

  const runs = await second.api.runs("tick");
  const fires = runs.map((r) => fireOf(r.id)).sort((a, b) => a - b);
  const gaps = (xs: number[]): number[] => xs.slice(1).map((x, i) => x - (xs[i] ?? 0));
  const at = (xs: number[]): string => xs.map((f) => f - killedAt).join(", ");
  assert.equal(new Set(fires).size, fires.length, "one run per fire time");
  for (const r of runs) assert.deepEqual([r.cause, r.id.startsWith("s")], ["schedule", true]);
  const before = fires.filter((f) => f <= killedAt - 1000);
  const after = fires.filter((f) => f > killedAt);
  assert.ok(before.length >= 2, `fires before the kill: ${at(before)}`);
  assert.deepEqual(gaps(before), before.slice(1).map(() => 1000), `each second before the kill: a run (${at(before)})`);
  // The fire at the kill: handled once, by the old or the new leader (never both: one id).
  assert.ok(fires.filter((f) => f > killedAt - 1000 && f <= killedAt).length <= 1);
  // The outage: its fires made one run, the newest one due when the new leader first looked (that
  // run was created before the next fire's time), and none of the outage's older fires ran.
  const first = runs.find((r) => fireOf(r.id) === after[0]);
  assert.ok(first, `a run after the kill (leading ${leadingAt - killedAt} ms after it): ${at(after)}`);
  assert.ok(first.createdAt >= fireOf(first.id) && first.createdAt < fireOf(first.id) + 1000, `the outage's run is its newest fire (${at(after)}; created ${first.createdAt - killedAt})`);
  // Each later fire handled within LateMs (not missed).
  for (const r of runs.filter((x) => fireOf(x.id) > fireOf(first.id))) assert.ok(r.createdAt - fireOf(r.id) < LateMs, `fire ${fireOf(r.id) - killedAt} created ${r.createdAt - fireOf(r.id)} ms late`);
  // Then each second again, to the end.
  assert.deepEqual(gaps(after), after.slice(1).map(() => 1000), `each second after the takeover: a run (${at(after)})`);
  assert.ok((after.at(-1) ?? 0) >= stoppedAt - 1500, "still firing at the end");
});
