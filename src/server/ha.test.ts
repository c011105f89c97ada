// High availability on a real 3-member etcd started here: three servers (their own processes) on one
// etcd; kill -9 of the leading server during a rolling update, kill -9 of an etcd member during
// applies, and a server cut off from etcd. Agents are simulated through the HTTP API (SimAgent).
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, test } from "node:test";
import { ApiClient } from "../api/client.ts";
import type { JobVersion } from "../model/index.ts";
import { etcdAvailable, startEtcd } from "../state/etcd-testing.ts";
import type { EtcdCluster } from "../state/etcd-testing.ts";
import type { Store } from "../state/store.ts";
import type { LeaderTerm } from "./leader.ts";
import { openStore } from "./main.ts";
import { versionKey } from "./keys.ts";
import { specOf } from "./testing/fixtures.ts";
import { leaderOf, placedOnce, SimAgent, startServerProcess } from "./testing/cluster.ts";
import type { ServerProcess } from "./testing/cluster.ts";
import { eventually, tempDir } from "./testing/harness.ts";

const skip = etcdAvailable() ? false : "etcd is not installed (apt-get install etcd-server)";
const timing = { heartbeatMs: 300, suspectMs: 1500, downMs: 6000, fenceMs: 3000 };
/** The leader key's lease (leader.ts, its default): a dead or cut-off leader's key goes when it expires. */
const leaderTtlMs = 3000;
/** A leader trusts its term until its last renewal's send time + ttl - this (leader.ts #deadlineFrom). */
const trustMarginMs = Math.max(250, Math.floor(leaderTtlMs / 6));
/** etcd revokes expired leases on a 500 ms loop (its lessor). */
const etcdExpiryMs = 500;
/** Timers and requests run late on this shared 2-core machine. */
const loadMs = 1000;

let etcd: EtcdCluster | null = null;
const undo: (() => unknown)[] = [];
before(async () => {
  if (skip) return;
  etcd = await startEtcd({ members: 3 });
});
after(async () => {
  for (const fn of undo.reverse()) await fn();
  await etcd?.stop();
});

/** Servers on `endpoints` under `prefix`, stopped (and their dirs removed) after the file. */
async function servers(n: number, prefix: string, endpoints: string[][]): Promise<ServerProcess[]> {
  const out: ServerProcess[] = [];
  for (let i = 0; i < n; i++) {
    const dataDir = tempDir();
    undo.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // One at a time: the first one elected is the one the test expects to lead.
    const s = await startServerProcess({ dataDir, endpoints: endpoints[i] ?? endpoints[0] ?? [], prefix, timing, leaderTtlMs });
    undo.push(() => s.stop());
    out.push(s);
  }
  return out;
}

async function agents(n: number, urls: string[], joinToken: string): Promise<SimAgent[]> {
  const out: SimAgent[] = [];
  for (let i = 0; i < n; i++) {
    // Each agent lists the servers in another order, so heartbeats land on every server.
    const a = new SimAgent([...urls.slice(i % urls.length), ...urls.slice(0, i % urls.length)], `host-${i}`);
    await a.start(joinToken, { heartbeatMs: timing.heartbeatMs, timeoutMs: 1500 });
    undo.push(() => a.stop());
    out.push(a);
  }
  return out;
}

/** True once every task of `job` is placed exactly once (throws the problems otherwise, so a
 * timeout says what was still wrong). */
async function converged(store: Store, job: string, replicas: number, version: number): Promise<true> {
  const problems = await placedOnce(store, job, replicas, version);
  if (problems.length > 0) throw new Error(problems.slice(0, 5).join("; "));
  return true;
}

/** The etcd member that leads etcd's raft, from each member's status. */
async function etcdLeader(endpoints: string[]): Promise<number> {
  for (const [i, e] of endpoints.entries()) {
    try {
      const res = await fetch(`${e}/v3/maintenance/status`, { method: "POST", body: "{}", signal: AbortSignal.timeout(2000) });
      const st = (await res.json()) as { leader?: string; header?: { member_id?: string } };
      if (st.leader && st.leader === st.header?.member_id) return i;
    } catch {
      // a stopped member: ask the next
    }
  }
  throw new Error("no etcd leader found");
}

async function storeOf(endpoints: string[], prefix: string): Promise<Store> {
  const s = await openStore({ kind: "etcd", endpoints, prefix });
  undo.push(() => s.close());
  return s;
}

void test("three servers: kill -9 of the leader during an update, then of an etcd member; nothing lost or doubled", { skip, timeout: 120_000 }, async (t) => {
  if (!etcd) throw new Error("no etcd");
  const prefix = "/ha-kill";
  const srv = await servers(3, prefix, [etcd.endpoints]);
  const [s0, s1, s2] = srv as [ServerProcess, ServerProcess, ServerProcess];
  assert.equal(s1.adminToken, s0.adminToken, "the servers share the admin token (through the store)");
  assert.equal(s2.joinToken, s0.joinToken, "and the join token");
  assert.deepEqual(await Promise.all(srv.map((s) => s.leading())), [true, false, false], "the first server leads, the others follow");
  assert.equal((await leaderOf([s2]))?.id, s0.id, "followers know the leader");

  const urls = srv.map((s) => s.url);
  const sims = await agents(6, urls, s0.joinToken);
  const api = new ApiClient({ addr: urls.join(","), token: s0.adminToken, timeoutMs: 3000 });
  const store = await storeOf(etcd.endpoints, prefix);
  const replicas = 12;
  await api.apply(specOf({ replicas, resources: { cpu: 0.5, memoryMiB: 128, diskMiB: 10 } }));
  await eventually("12 tasks running, each once", async () => (await converged(store, "web", replicas, 1)) && (await api.job("web")).tasks.every((t) => t.state === "running"), 40_000);
  // Every host is up on every server: a follower judges by the lease, the leader by the heartbeats
  // the followers pass on (most of them go to other servers).
  // (A heartbeat delayed on this loaded 2-core machine may show one host suspect for a moment: ask
  // until every server sees all of them up, which a broken contact hand-over never reaches.)
  for (const s of srv) {
    await eventually(`hosts up as ${s.url} sees them`, async () => {
      const hosts = await s.api.hosts();
      return hosts.length === 6 && hosts.every((h) => h.status === "up");
    }, 10_000);
  }

  // A new version: attempts are replaced a quarter at a time. Kill the leader in the middle of it.
  await api.apply(specOf({ replicas, resources: { cpu: 0.5, memoryMiB: 128, diskMiB: 10 }, env: { V: "2" } }));
  await eventually("the update under way", async () => (await api.job("web")).tasks.some((t) => t.version === 2), 10_000);
  const killedAt = Date.now();
  s0.child.kill("SIGKILL");
  // When the new leader began, as it recorded (not when a poll of ours noticed). The dead leader's lease
  // was last renewed at or before the kill (at most a tick before), so its key goes at most ttl + etcd's
  // expiry loop after the kill, and a follower campaigns on the key's deletion (a watch event, not its
  // next tick). A lease longer than configured, or a campaign that waits for something else, lands later.
  const bound = leaderTtlMs + etcdExpiryMs + loadMs;
  const { next, term } = await eventually("a new leader", async () => {
    for (const s of [s1, s2]) {
      const term = (await termsOf(s)).find((x) => x.start >= killedAt);
      if (term) return { next: s, term };
    }
    return null;
  }, bound + 5000);
  const took = term.start - killedAt;
  t.diagnostic(`new leader ${took} ms after kill -9 of the leading server (bound ${bound})`);
  assert.ok(took <= bound, `another server leads ${took} ms after the leader was killed: more than its lease (${leaderTtlMs}) + etcd's expiry loop (${etcdExpiryMs}) + ${loadMs} for load`);
  assert.equal((await leaderOf([s1, s2]))?.id, next.id);

  await eventually("the update finishes: every task at version 2, placed once", () => converged(store, "web", replicas, 2), 40_000);
  // The agents hear of the last placements over their assignment streams, a moment after the store
  // has them (on this loaded machine up to a few seconds): wait for their view, then compare.
  const agentsRun = (): number[] => sims.flatMap((a) => a.latest.filter((x) => x.attempt.job === "web" && x.attempt.desired === "run").map((x) => x.attempt.index)).sort((a, b) => a - b);
  const everyIndex = Array.from({ length: replicas }, (_, i) => i);
  await eventually("the agents' assignments show every task once", () => JSON.stringify(agentsRun()) === JSON.stringify(everyIndex), 10_000).catch(() => null);
  assert.deepEqual(agentsRun(), everyIndex, "the agents run each task exactly once");

  // kill -9 of etcd's leader member with a dozen applies in flight: every acknowledged apply is
  // stored with the spec that apply sent (each worker writes new versions of its own job).
  const acks: { name: string; version: number; n: string }[] = [];
  const leaderMember = await etcdLeader(etcd.endpoints);
  let stop = false;
  let killed = false;
  let ackedAfterKill = 0;
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; !stop; i++) {
      const name = `batch-${w}`;
      const n = `${w}-${i}`;
      try {
        const r = await api.apply(specOf({ name, replicas: 1, resources: { cpu: 0.1, memoryMiB: 16, diskMiB: 1 }, env: { N: n } }));
        acks.push({ name, version: r.version, n });
        if (killed) ackedAfterKill++;
      } catch {
        // not acknowledged (etcd electing): fine, as long as nothing acknowledged is lost
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  };
  const workers = Array.from({ length: 12 }, (_, w) => worker(w));
  await eventually("two applies acknowledged per worker", () => acks.length >= 24, 20_000);
  etcd.kill(leaderMember);
  killed = true;
  await eventually("applies acknowledged after the kill", () => ackedAfterKill >= 24, 30_000);
  stop = true;
  await Promise.all(workers);
  t.diagnostic(`${acks.length} applies acknowledged around kill -9 of etcd member ${leaderMember} (raft leader), ${ackedAfterKill} after it`);
  const fresh = await storeOf(etcd.endpoints.filter((_, i) => i !== leaderMember), prefix);
  const lost: string[] = [];
  for (const a of acks) {
    const v = JSON.parse((await fresh.get(versionKey(a.name, a.version)))?.value ?? "null") as JobVersion | null;
    if (v?.spec.env["N"] !== a.n) lost.push(`${a.name} v${a.version} (N=${a.n}): found ${v ? `N=${v.spec.env["N"]}` : "nothing"}`);
  }
  assert.deepEqual(lost, [], `acknowledged applies missing from etcd (of ${acks.length})`);
  // The servers that led in turn never led at once.
  assert.deepEqual(overlapping([...(await termsOf(s1)), ...(await termsOf(s2))]), [], "two servers led at once");
  await etcd.restart(leaderMember);
  assert.deepEqual(await placedOnce(fresh, "web", replicas, 2), [], "web untouched");
});

void test("a leading server cut off from etcd stops leading before another takes over, and writes nothing", { skip, timeout: 90_000 }, async (t) => {
  if (!etcd) throw new Error("no etcd");
  const prefix = "/ha-cut";
  const ends = etcd.endpoints;
  // The cut server talks to one member only, not etcd's leader (stopping that one would add an etcd
  // election to what we measure); the other server talks to the two others.
  const lead = await etcdLeader(ends);
  const lonely = [0, 1, 2].find((i) => i !== lead) ?? 0;
  const others = ends.filter((_, i) => i !== lonely);
  const [cut, other] = (await servers(2, prefix, [[ends[lonely] ?? ""], others])) as [ServerProcess, ServerProcess];
  assert.equal(await cut.leading(), true);
  await agents(3, [other.url, cut.url], cut.joinToken);
  const api = new ApiClient({ addr: other.url, token: other.adminToken, timeoutMs: 8000 });
  const store = await storeOf(others, prefix);
  await api.apply(specOf({ replicas: 3, resources: { cpu: 0.5, memoryMiB: 128, diskMiB: 10 } }));
  await eventually("placed by the cut server while it leads", () => converged(store, "web", 3, 1), 40_000);
  const written = await cut.metric("tiffin_leader_txns_total", { result: "written" });
  assert.ok(written > 0, "the leader wrote the placements");

  // Cut: its only etcd member stops (SIGSTOP: connections hang, as in a partition).
  const member = etcd.pid(lonely);
  process.kill(member, "SIGSTOP");
  undo.push(() => process.kill(member, "SIGCONT"));
  const cutAt = Date.now();
  // The order is read from the terms each server recorded at its own transitions (both processes
  // read the same machine clock), not sampled: an inversion of a few ms shows as one.
  const { cutTerm, newTerm } = await eventually("the cut server stepped down and the other took over", async () => {
    const [a, b] = [await termsOf(cut), await termsOf(other)];
    const cutTerm = a.at(-1);
    const newTerm = b.find((x) => x.start >= cutAt);
    if (!cutTerm || cutTerm.end === null || !newTerm) throw new Error(`terms: cut ${JSON.stringify(a)}, other ${JSON.stringify(b)}`);
    return { cutTerm, newTerm };
  }, 20_000);
  const steppedDown = (cutTerm.end ?? 0) - cutAt;
  const taken = newTerm.start - cutAt;
  // The right instant is not the cut but the cut server's last renewal that got through: its term ends
  // at that renewal's send time + ttl - trustMargin (the term's end is min(noticed, trusted until)), and
  // etcd cannot expire the lease before that send time + ttl: so the other server may lead from
  // cutTerm.end + trustMargin on, and does by then + etcd's expiry loop (+ load): it campaigns on the
  // key's deletion.
  const expiresAt = (cutTerm.end ?? 0) + trustMarginMs;
  t.diagnostic(`cut server stepped down ${steppedDown} ms after the cut, the other led from ${taken} ms; the lease could expire from ${expiresAt - cutAt} ms`);
  assert.ok(steppedDown <= taken, `the cut server led until ${steppedDown} ms after the cut, the other from ${taken} ms`);
  // 20 ms: the two servers' clock reads and etcd's; the trust margin is what keeps terms apart.
  assert.ok(newTerm.start >= expiresAt - 20, `the other server led ${expiresAt - newTerm.start} ms before the cut server's lease could expire`);
  const late = newTerm.start - expiresAt;
  assert.ok(late <= etcdExpiryMs + loadMs, `a new leader ${late} ms after the cut server's lease could expire (etcd's expiry loop ${etcdExpiryMs}, ${loadMs} for load)`);

  // Work for the new leader while the old one is cut off; then the cut heals.
  await api.apply(specOf({ replicas: 5, resources: { cpu: 0.5, memoryMiB: 128, diskMiB: 10 } }));
  await eventually("the new leader placed the new version", () => converged(store, "web", 5, 2), 40_000);
  process.kill(member, "SIGCONT");
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(await cut.leading(), false, "the healed server follows");
  assert.equal(await other.leading(), true);
  assert.equal(await cut.metric("tiffin_leader_txns_total", { result: "written" }), written, "the cut server wrote nothing after it was cut off");
  assert.deepEqual(await placedOnce(store, "web", 5, 2), []);
  // Over the whole test, no two terms of the two servers overlapped.
  const all = [...(await termsOf(cut)), ...(await termsOf(other))];
  assert.deepEqual(overlapping(all), [], "two servers led at once");
});

void test("kill -9 of the leading server mid-rollout: the rollout goes on under the next leader, from where it was (issue 14)", { skip, timeout: 120_000 }, async (t) => {
  if (!etcd) throw new Error("no etcd");
  const prefix = "/ha-rollout";
  const srv = await servers(3, prefix, [etcd.endpoints]);
  const [s0, s1, s2] = srv as [ServerProcess, ServerProcess, ServerProcess];
  const urls = srv.map((s) => s.url);
  await agents(4, urls, s0.joinToken);
  const api = new ApiClient({ addr: urls.join(","), token: s0.adminToken, timeoutMs: 3000 });
  const store = await storeOf(etcd.endpoints, prefix);
  const replicas = 6;
  const rollout = { phases: [1, 2, "all"] as (number | "all")[], bakeMs: 4000, deadlineMs: 60_000, maxUnavailable: 1, maxSurge: 0, onFailure: "rollback" as const };
  const spec = (v: string) => specOf({ replicas, resources: { cpu: 0.25, memoryMiB: 64, diskMiB: 10 }, env: { V: v }, rollout });
  await api.apply(spec("1"));
  await eventually("6 tasks running", async () => (await converged(store, "web", replicas, 1)) && (await api.job("web")).tasks.every((x) => x.state === "running"), 40_000);
  await api.apply(spec("2"));
  // Phase 1 passed, phase 2 under way: kill the leader.
  const before = await eventually("phase 2 under way", async () => {
    const s = await api.rolloutStatus("web");
    return s.rollout && s.rollout.phase === 1 ? s : null;
  }, 30_000);
  const killedAt = Date.now();
  s0.child.kill("SIGKILL");
  await eventually("a new leader", async () => {
    for (const s of [s1, s2]) if ((await termsOf(s)).some((x) => x.start >= killedAt)) return true;
    return false;
  }, 15_000);
  const done = await eventually("the rollout succeeded", async () => {
    const s = await api.rolloutStatus("web");
    return s.rollout?.state === "succeeded" ? s : null;
  }, 60_000);
  t.diagnostic(`phase 2 started at ${before.rollout?.phases[1]?.startedAt ?? 0}, leader killed at ${killedAt}, rollout done at ${done.rollout?.endedAt ?? 0}`);
  assert.equal(done.n, before.n, "the same rollout record went on (not a new rollout)");
  assert.equal(done.rollout?.phases[0]?.endedAt, before.rollout?.phases[0]?.endedAt, "phase 1 was not run again");
  assert.deepEqual(done.rollout?.phases.map((p) => p.outcome), ["passed", "passed", "passed"]);
  assert.ok((done.rollout?.endedAt ?? 0) > killedAt);
  await eventually("every task at version 2, placed once", () => converged(store, "web", replicas, 2), 20_000);
  assert.deepEqual((await api.rollouts("web")).map((r) => [r.version, r.state]), [[2, "succeeded"]]);
});

async function termsOf(s: ServerProcess): Promise<LeaderTerm[]> {
  return (await s.api.cluster()).self.terms;
}

/** Pairs of terms that overlap in time (an open term lasts until now). */
function overlapping(terms: LeaderTerm[]): string[] {
  const out: string[] = [];
  const endOf = (x: LeaderTerm): number => x.end ?? Infinity;
  for (const [i, a] of terms.entries()) {
    for (const b of terms.slice(i + 1)) if (a.start < endOf(b) && b.start < endOf(a)) out.push(`${JSON.stringify(a)} and ${JSON.stringify(b)}`);
  }
  return out;
}
