// The rollout controller's place in a reconcile pass: before a job's decision, start the rollout a new
// version needs (superseding an older live one), step the live one (rollout-step.ts), and on a failure
// that rolls back, store the last good spec as a new version with its own quick rollout, all as guarded
// writes that go in the same transaction as the decision. The state lives in the store, so the next
// leader continues where this one stopped.

import { isLiveRollout, isTerminal } from "../../model/index.ts";
import type { JobRecord, JobSpec, JobVersion, Rollout, TaskMetricsPoint } from "../../model/index.ts";
import type { RawMetricPoint } from "../../model/judge/index.ts";
import { namedMetricsOf } from "../../model/judge/index.ts";
import type { Compare, Op } from "../../state/store.ts";
import { jobKey, Kinds, rolloutKey, versionKey } from "../kinds.ts";
import type { Mirror } from "../mirror.ts";
import { isReady } from "./decide.ts";
import { lastGoodVersion, phaseTasks, rollbackPolicy, startRollout, stepTasks } from "./rollout-start.ts";
import { judgeBake } from "./rollout-judge.ts";
import type { JudgeReader } from "./rollout-judge.ts";
import { stepRollout } from "./rollout-step.ts";
import type { BakeJudge } from "./rollout-step.ts";
import type { JobInput } from "./types.ts";
import { replaceCauses } from "./version-change.ts";
import { wantedOf } from "./every-host-input.ts";

/** What a pass does about a job's rollout: the rollout the decision is gated by, the writes, and
 * whether the job was rolled back (then its decision waits for the next pass, on the new version). */
export interface Advance {
  rollout: Rollout | null;
  other: { compare: Compare[]; success: Op[] } | null;
  rolledBack: boolean;
}

/** The job's rollouts by number, newest last. */
export function rolloutsOf(m: Mirror, job: string): { n: number; rollout: Rollout }[] {
  return [...(m.rollouts.get(job) ?? [])].map(([n, e]) => ({ n, rollout: e.value })).sort((a, b) => a.n - b.n);
}

/** True when the job has a task of another version whose live attempt must be replaced: a rollout's work. */
export function needsRollout(inp: JobInput): boolean {
  const replicas = wantedOf(inp);
  const live = new Set(inp.attempts.filter((a) => a.desired === "run" && !isTerminal(a.state)).map((a) => a.id));
  return inp.tasks.some((t) => {
    if (!replicas.has(t.index) || t.version === inp.job.version || t.attemptId === null || !live.has(t.attemptId)) return false;
    const from = inp.specOf(t.version);
    return from === null || replaceCauses(from, inp.spec).length > 0;
  });
}

/** A task's metric points, oldest first (the server's TaskMetricsHistory.seriesOf). */
export type SeriesReader = (job: string, index: number) => readonly TaskMetricsPoint[];

/** What the judge reads beyond the mirror: per-task metric series and the custom checks' verdicts. */
export interface JudgeSources {
  /** Absent: no points, so metric comparisons stay inconclusive. */
  seriesOf?: SeriesReader;
  /** Absent: custom checks stay inconclusive ("running"). */
  customOf?: JudgeReader["customOf"];
  /** A task's raw readings of a named metric (../rollout-samples.ts); absent: named comparisons stay inconclusive. */
  namedOf?: (job: string, index: number, name: string) => readonly RawMetricPoint[];
  /** A task's cumulative CPU seconds; absent: efficiency stays inconclusive. */
  cpuOf?: (job: string, index: number) => readonly { at: number; cpuSeconds: number }[];
  /** Since when this server holds the readings of `namedOf` and `cpuOf` (it began leading); absent: always. */
  samplesSince?: () => number;
}

/** The named metrics the agents of the job's old tasks report: those the checks of the versions the
 * old tasks run name (an agent scrapes what its attempt's own spec names). */
export function oldNamedOf(steps: readonly { index: number; isNew: boolean }[], specOf: (v: number) => JobSpec | null, tasks: readonly { index: number; version: number }[]): Set<string> {
  const olds = new Set(steps.filter((s) => !s.isNew).map((s) => s.index));
  // A rolling restart's old tasks run the rollout's own version: it counts too.
  const versions = new Set(tasks.filter((t) => olds.has(t.index)).map((t) => t.version));
  const out = new Set<string>();
  for (const v of versions) for (const n of namedMetricsOf(specOf(v)?.rollout?.checks)) out.add(n);
  return out;
}

/** Starts, steps or rolls back the job's rollout for this pass; `sources` feed the judge. */
export function advanceRollout(m: Mirror, inp: JobInput, sources: JudgeSources = {}): Advance {
  const seriesOf = sources.seriesOf ?? (() => []);
  const { job, now } = inp;
  const name = job.name;
  const all = rolloutsOf(m, name);
  const latest = all.at(-1) ?? null;
  const compare: Compare[] = [];
  const success: Op[] = [];
  const put = (n: number, r: Rollout): void => {
    const key = rolloutKey(name, n);
    compare.push({ key, target: "modRevision", op: "==", value: m.modRevision(key) });
    success.push({ type: "put", key, value: Kinds.rollout.encode(r) });
  };
  const done = (rollout: Rollout | null, rolledBack = false): Advance => ({ rollout, other: success.length > 0 ? { compare, success } : null, rolledBack });
  const replicas = wantedOf(inp);
  const domainOf = (hostId: string) => m.hosts.get(hostId)?.value.domain ?? null;

  if (latest === null || latest.rollout.version !== job.version || job.removedAt !== null) {
    const why = job.removedAt !== null ? "the job was removed" : `version ${job.version} was applied`;
    for (const { n, rollout } of all) if (isLiveRollout(rollout)) put(n, { ...rollout, state: "superseded", endedAt: now, updatedAt: now, why });
    if (job.removedAt !== null || !needsRollout(inp)) return done(null);
    const r = startRollout({ job: name, version: job.version, from: lastGoodVersion(inp.tasks.filter((t) => replicas.has(t.index)), job.version), cause: "apply", spec: inp.spec, tasks: phaseTasks(inp.tasks, replicas, domainOf), now });
    put((latest?.n ?? 0) + 1, r);
    return done(r);
  }

  const cur = latest.rollout;
  if (!isLiveRollout(cur)) return done(cur);
  const ready = (a: Parameters<typeof isReady>[0], v: number): boolean => isReady(a, inp.specOf(v) ?? inp.spec);
  const tasks = stepTasks(cur, inp.tasks, inp.attempts, replicas, ready);
  const hostOf = new Map(inp.tasks.map((t) => [t.index, t.hostId]));
  const reader: JudgeReader = { seriesOf: (i) => seriesOf(name, i), domainOf: (i) => { const h = hostOf.get(i); return h == null ? null : domainOf(h); }, ...(sources.customOf ? { customOf: sources.customOf } : {}),
    ...(sources.namedOf ? { namedOf: (i: number, metric: string) => sources.namedOf?.(name, i, metric) ?? [] } : {}),
    ...(sources.cpuOf ? { cpuOf: (i: number) => sources.cpuOf?.(name, i) ?? [] } : {}),
    ...(sources.samplesSince ? { samplesSince: sources.samplesSince() } : {}),
    oldNamed: oldNamedOf(tasks, (v) => inp.specOf(v), inp.tasks) };
  const judge: BakeJudge = (healthyAt, reached) => judgeBake(cur, cur.policy.checks, tasks, reached, healthyAt, now, reader);
  const step = stepRollout(cur, tasks, now, judge);
  if (!step.rollback || cur.from === null) {
    if (step.rollout !== cur) put(latest.n, step.rollout);
    return done(step.rollout);
  }
  const back = rollbackWrites(m, inp, latest.n, step.rollout, cur.from);
  compare.push(...back.compare);
  success.push(...back.success);
  return done(back.rollout, back.rollout.cause === "rollback");
}

/** The guarded writes of a rollback of `failed` (the job's rollout number `n`) to version `from`: its
 * spec (pins included: the same bytes run again) stored as a new version, as `tiffin revert` does,
 * with a quick rollout of its own. When `from` is gone, the failed rollout pauses instead. Returns the
 * rollout the job goes on with. */
export function rollbackWrites(m: Mirror, inp: Pick<JobInput, "job" | "tasks" | "spec" | "now" | "everyHost">, n: number, failed: Rollout, from: number): { compare: Compare[]; success: Op[]; rollout: Rollout } {
  const { job, now } = inp;
  const name = job.name;
  const compare: Compare[] = [];
  const success: Op[] = [];
  const put = (k: number, r: Rollout): void => {
    const key = rolloutKey(name, k);
    compare.push({ key, target: "modRevision", op: "==", value: m.modRevision(key) });
    success.push({ type: "put", key, value: Kinds.rollout.encode(r) });
  };
  const good = m.spec(name, from);
  if (!good) {
    const paused: Rollout = { ...failed, state: "paused", endedAt: null, why: `${failed.why ?? "failed"}; version ${from} to roll back to is gone: fix the spec and apply, or \`tiffin rollout resume ${name}\`` };
    put(n, paused);
    return { compare, success, rollout: paused };
  }
  let version = job.version;
  for (const v of m.versions.get(name)?.keys() ?? []) version = Math.max(version, v);
  version += 1;
  const rec: JobRecord = { name, version, removedAt: null, updatedAt: now };
  const ver: JobVersion = { name, version, spec: good.spec, createdAt: now, by: "tiffin", message: `rollback of version ${failed.version} to version ${from}: ${failed.why ?? "a phase failed"}` };
  compare.push({ key: jobKey(name), target: "modRevision", op: "==", value: m.modRevision(jobKey(name)) });
  compare.push({ key: versionKey(name, version), target: "modRevision", op: "==", value: 0 });
  success.push({ type: "put", key: versionKey(name, version), value: Kinds.version.encode(ver) });
  success.push({ type: "put", key: jobKey(name), value: Kinds.job.encode(rec) });
  put(n, { ...failed, rolledBackTo: version });
  // An every-host job keeps its slots: the good spec runs on the same hosts.
  const replicas = good.spec.everyHost === true ? (inp.everyHost ?? Number.MAX_SAFE_INTEGER) : good.spec.replicas;
  const back = startRollout({ job: name, version, from: null, cause: "rollback", spec: good.spec, tasks: phaseTasks(inp.tasks, replicas, (id) => m.hosts.get(id)?.value.domain ?? null), now, policy: rollbackPolicy(failed.policy) });
  put(n + 1, back);
  return { compare, success, rollout: back };
}
