// The recommender's inputs read from the server: a job's current version, its tasks' usage history,
// and the attempts the OOM killer struck (ended with cause "oom", or whose cgroup counted an OOM kill),
// with the memory limit of the version each ran. Then the pure decisions (recommend.ts, adapt.ts).
import type { JobSpec, Recommendation, RecommendPolicy, UsageSample } from "../../model/index.ts";
import type { ServerContext } from "../context.ts";
import type { Mirror } from "../mirror.ts";
import { decideAdapt, RecommenderName } from "./adapt.ts";
import type { AdaptDecision } from "./adapt.ts";
import { recommend } from "./recommend.ts";
import type { OomEvidence, TaskSample } from "./recommend.ts";

/** The job's current spec and version, or null when it does not exist or was removed. */
export function currentVersion(m: Mirror, name: string): { version: number; spec: JobSpec } | null {
  const job = m.jobs.get(name)?.value;
  if (!job || job.removedAt !== null) return null;
  const ver = m.spec(name, job.version);
  return ver ? { version: job.version, spec: ver.spec } : null;
}

/** When the server last stored an adapted version of the job (null: never). */
export function lastAdaptedAt(m: Mirror, name: string): number | null {
  let last: number | null = null;
  for (const e of m.versions.get(name)?.values() ?? []) {
    if (e.value.by === RecommenderName && (last === null || e.value.createdAt > last)) last = e.value.createdAt;
  }
  return last;
}

function oomsOf(m: Mirror, name: string, samples: readonly UsageSample[], fallbackMiB: number): OomEvidence[] {
  const limitOf = (attemptId: string): number => {
    const a = m.attempts.get(attemptId)?.value;
    return (a ? m.spec(name, a.version)?.spec.resources.memoryMiB : undefined) ?? fallbackMiB;
  };
  const out = new Map<string, OomEvidence>();
  for (const id of m.attemptsByJob.get(name) ?? []) {
    const a = m.attempts.get(id)?.value;
    if (a?.endCause === "oom") out.set(id, { attemptId: id, at: a.endedAt ?? a.createdAt, limitMiB: limitOf(id) });
  }
  // A kill the attempt survived (a child process), or whose attempt record was pruned: the cgroup's counter.
  for (const s of samples) {
    if ((s.oomKills ?? 0) > 0 && !out.has(s.attemptId)) out.set(s.attemptId, { attemptId: s.attemptId, at: s.at, limitMiB: limitOf(s.attemptId) });
  }
  return [...out.values()];
}

/** The recommendation of a job (null when the job does not exist), with what adapting would do. */
export async function jobRecommendation(ctx: ServerContext, name: string, policy: RecommendPolicy): Promise<{ rec: Recommendation; decision: AdaptDecision | null } | null> {
  const m = ctx.mirror;
  const cur = currentVersion(m, name);
  if (!cur) return null;
  const indexes = new Set([...(m.tasks.get(name)?.keys() ?? [])]);
  const samples: TaskSample[] = [];
  for (const index of [...indexes].sort((a, b) => a - b)) {
    for (const s of (await ctx.usage?.of(name, index)) ?? []) samples.push({ ...s, index });
  }
  const now = ctx.clock.now();
  const core = recommend({ job: name, version: cur.version, current: cur.spec.resources, samples, ooms: oomsOf(m, name, samples, cur.spec.resources.memoryMiB), now, policy });
  const decision = cur.spec.adapt ? decideAdapt(core, cur.spec.adapt, lastAdaptedAt(m, name), now) : null;
  return { rec: { ...core, adapt: decision ? { target: decision.target, note: decision.note } : null }, decision };
}
