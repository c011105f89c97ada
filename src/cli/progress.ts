// Following a rollout from the CLI: after an apply, look at each job's status whenever the server's
// watch reports a change of it (./progress-watch.ts; polling without one) until every task of the new
// version runs (and is healthy when the job has a health check) or the deadline passes. The
// decisions are pure functions over JobStatus; the loop around them is small.

import type { ApiClient } from "../api/client.ts";
import type { JobStatus, RolloutStatus, TaskView } from "../api/types.ts";
import type { Rollout } from "../model/rollout.ts";
import { ErrorCodes, TiffinError } from "../model/errors.ts";
import type { Problem } from "../model/errors.ts";
import { JobChanges } from "./progress-watch.ts";

/** A job version to wait for. */
export interface WaitTarget {
  name: string;
  version: number;
  /** The store revision of the apply (ApplyResult.revision): changes are watched from there. */
  revision?: number;
}

/** How far one job is. */
export interface JobProgress {
  name: string;
  version: number;
  replicas: number;
  /** Tasks of `version` whose process runs (running, healthy or unhealthy). */
  running: number;
  healthy: number;
  /** The job has a health check, so "ready" means healthy. */
  needsHealthy: boolean;
  ready: boolean;
  /** Why each task that is not ready is not, as `job/index` -> text. */
  missing: { task: string; why: string }[];
  /** Tasks of `version` parked after failing on every host they were given, or that no registered
   * host could ever run: waiting longer is futile. */
  parked: string[];
  /** Of those, the ones no host could ever run. */
  neverFits: string[];
  /** The version's rollout, when the server runs one (older servers: absent). */
  rollout?: Rollout | null;
}

const runningStates = new Set(["running", "healthy", "unhealthy"]);

/** True when the task's current attempt belongs to `version` (the view says so or lists the attempt). */
function onVersion(t: TaskView, version: number): boolean {
  if (t.version !== version) return false;
  const current = t.attempts.find((a) => a.id === t.attemptId);
  return current === undefined || current.version === version;
}

function whyNot(t: TaskView, needsHealthy: boolean, version: number): string {
  if (t.state === "unplaced") return `unplaced${t.reason ? `: ${t.reason}` : ""}`;
  if (t.state === "parked") return `parked: ${t.reason ?? "failed on every host it was given"}`;
  const where = t.hostName ?? t.hostId ?? "no host";
  if (!onVersion(t, version)) return `still on version ${t.attempts.find((a) => a.id === t.attemptId)?.version ?? t.version} (${t.state} on ${where})`;
  const reason = t.reason ? ` (${t.reason})` : "";
  if (runningStates.has(t.state) && needsHealthy) return `${t.state}, not yet healthy, on ${where}${reason}`;
  return `${t.state} on ${where}${reason}${t.failures > 0 ? `, ${t.failures} failure(s)` : ""}`;
}

/** How far `status` is towards every task of `version` running (healthy if checked). */
export function progressOf(status: JobStatus, version: number): JobProgress {
  // An every-host job's tasks are the server's to count (one per matching host, indexes with holes).
  const everyHost = status.spec.everyHost === true;
  const replicas = everyHost ? status.tasks.length : status.spec.replicas;
  const needsHealthy = status.spec.health !== null;
  const tasks = everyHost ? status.tasks : status.tasks.filter((t) => t.index < replicas);
  let running = 0;
  let healthy = 0;
  const missing: JobProgress["missing"] = [];
  const parked: string[] = [];
  const neverFits: string[] = [];
  for (const t of tasks) {
    if (t.state === "parked" && t.version === version) parked.push(t.id);
    if (t.state === "unplaced" && t.neverFits === true && t.version === version) neverFits.push(t.id);
    const current = onVersion(t, version);
    if (current && runningStates.has(t.state)) running++;
    if (current && t.state === "healthy") healthy++;
    const ready = current && (needsHealthy ? t.state === "healthy" : runningStates.has(t.state));
    if (!ready) missing.push({ task: t.id, why: whyNot(t, needsHealthy, version) });
  }
  for (let i = 0; i < replicas && !everyHost; i++) {
    if (!tasks.some((t) => t.index === i)) missing.push({ task: `${status.name}/${i}`, why: "not created yet" });
  }
  if (everyHost && tasks.length === 0) missing.push({ task: status.name, why: "no task yet: no matching host, or the server has not made them (`tiffin plan` shows the hosts)" });
  if (status.version !== version) missing.unshift({ task: status.name, why: `the job is now at version ${status.version}` });
  if (status.removed) missing.unshift({ task: status.name, why: "the job was removed" });
  return { name: status.name, version, replicas, running, healthy, needsHealthy, ready: missing.length === 0, missing, parked: [...parked, ...neverFits], neverFits };
}

/** One line for all jobs: `web v2: 3/3 running, 2/3 healthy · worker v1: 2/2 running`. */
export function formatProgress(ps: JobProgress[]): string {
  return ps
    .map((p) => {
      const health = p.needsHealthy ? `, ${p.healthy}/${p.replicas} healthy` : "";
      const r = p.rollout;
      const phase = r && r.state === "running" ? ` phase ${r.phase + 1}/${r.phases.length} (${String(r.phases[r.phase]?.spec ?? "")})` : r && r.state !== "succeeded" ? ` ${r.state}` : "";
      return `${p.name} v${p.version}${phase}: ${p.running}/${p.replicas} running${health}${p.ready ? " ✓" : ""}`;
    })
    .join(" · ");
}

/** The error for a deadline that passed: one problem per task that is not ready. */
export function notReadyError(ps: JobProgress[], waitedMs: number): TiffinError {
  const pending = ps.filter((p) => !p.ready);
  const problems: Problem[] = pending.flatMap((p) => p.missing.map((m) => ({ file: null, path: m.task, message: m.why, value: null })));
  const names = pending.map((p) => `${p.name} v${p.version}`).join(", ");
  const first = pending[0];
  return new TiffinError(ErrorCodes.Timeout, `not every task of ${names} was ready after ${Math.round(waitedMs / 1000)}s`, {
    hint: first
      ? `the apply is stored and keeps going; see \`tiffin status ${first.name}\` and \`tiffin logs ${first.missing[0]?.task ?? `${first.name}/0`} --stderr\`, or wait longer with --wait`
      : "wait longer with --wait",
    problems,
  });
}

/** The error for a rollout that cannot finish: a task of it is parked (it failed on every host). */
export function parkedError(ps: JobProgress[]): TiffinError {
  const stuck = ps.filter((p) => p.parked.length > 0);
  const problems: Problem[] = stuck.flatMap((p) => p.missing.filter((m) => p.parked.includes(m.task)).map((m) => ({ file: null, path: m.task, message: m.why, value: null })));
  const first = stuck[0]?.parked[0] ?? "";
  const never = stuck.flatMap((p) => p.neverFits);
  if (never.length > 0) {
    return new TiffinError(ErrorCodes.NeverFits, `no registered host could ever run ${never.join(", ")}`, {
      hint: "ask for less (resources, constraints) and apply again, or add a host that fits; `tiffin plan FILE` checks before applying",
      problems,
    });
  }
  return new TiffinError(ErrorCodes.Parked, `${stuck.flatMap((p) => p.parked).join(", ")} failed on every host it was given and is parked`, {
    hint: `see why with \`tiffin logs ${first} --stderr\`; fix the spec and apply it, or try again with \`tiffin restart ${first}\``,
    problems,
  });
}

/** The error of a rollout that ended the wait: failed (rolled back or paused for a human) or paused. */
export function rolloutError(p: JobProgress): TiffinError | null {
  const r = p.rollout;
  if (!r || r.state === "running" || r.state === "succeeded") return null;
  const problems: Problem[] = r.phases.flatMap((ph, i) => ph.checks.filter((c) => c.verdict === "fail").map((c) => ({ file: null, path: `${p.name} phase ${i + 1}: ${c.name}`, message: c.detail, value: JSON.stringify(c.figures) })));
  if (r.state === "failed") {
    return new TiffinError(ErrorCodes.RolloutFailed, `the rollout of ${p.name} v${p.version} failed${r.rolledBackTo !== null ? ` and was rolled back (version ${r.rolledBackTo} runs version ${r.from ?? "?"}'s spec)` : ""}: ${r.why ?? ""}`, {
      hint: `see \`tiffin rollout status ${p.name}\` and \`tiffin logs ${p.name}/${r.phases[r.failure?.phase ?? 0]?.tasks[0] ?? 0} --stderr\`; fix the spec and apply again`,
      problems,
    });
  }
  if (r.state === "paused") {
    return new TiffinError(ErrorCodes.RolloutPaused, `the rollout of ${p.name} v${p.version} is paused in phase ${r.phase + 1}: ${r.why ?? ""}`, {
      hint: `\`tiffin rollout resume ${p.name}\` goes on${r.failure ? " (the failed phase starts again)" : ""}, \`tiffin rollout abort ${p.name}\` rolls back`,
      problems,
    });
  }
  return null;
}

/** The job's rollout of `version` (null: none, or a server without rollouts). */
async function rolloutOf(client: ApiClient, name: string, version: number): Promise<Rollout | null> {
  let s: RolloutStatus;
  try {
    s = await client.rolloutStatus(name);
    if (s.rollout && s.rollout.version === version) return s.rollout;
    // A rollback made a newer version: the version's own rollout (failed) is in the history.
    if (s.rollout && s.rollout.version > version) return (await client.rollouts(name)).findLast((r) => r.version === version) ?? null;
  } catch {
    return null;
  }
  return null;
}

/** Options of `waitForJobs`. */
export interface WaitOptions {
  timeoutMs: number;
  /** How often to look while the server's watch is not connected. @default 500 */
  pollMs?: number;
  /** How often to look anyway while the watch is connected (it wakes the wait at each change of the
   * jobs' tasks and attempts). @default 5000 */
  watchedPollMs?: number;
  /** Called with the progress line whenever it changes. */
  onProgress?: (line: string, progress: JobProgress[]) => void;
  signal?: AbortSignal;
}

/** Looks at each job's status at every change the server's watch reports (polling when there is no
 * watch) until every target is ready; rejects with `notReadyError` at the deadline. */
export async function waitForJobs(client: ApiClient, targets: WaitTarget[], opts: WaitOptions): Promise<JobProgress[]> {
  const start = Date.now();
  const revisions = targets.map((t) => t.revision).filter((r): r is number => r !== undefined);
  const changes = new JobChanges(client, targets.map((t) => t.name), revisions.length === targets.length && revisions.length > 0 ? Math.min(...revisions) : null);
  try {
    let last = "";
    for (;;) {
      changes.take();
      const progress = await Promise.all(targets.map(async (t) => ({ ...progressOf(await client.job(t.name), t.version), rollout: await rolloutOf(client, t.name, t.version) })));
      const line = formatProgress(progress);
      if (line !== last) opts.onProgress?.(line, progress);
      last = line;
      // Phase by phase: the wait ends when each rollout succeeds, fails or pauses.
      for (const p of progress) {
        const err = rolloutError(p);
        if (err) throw err;
      }
      if (progress.every((p) => p.ready && p.rollout?.state !== "running")) return progress;
      if (progress.some((p) => p.parked.length > 0)) throw parkedError(progress);
      if (Date.now() - start >= opts.timeoutMs) throw notReadyError(progress, Date.now() - start);
      if (opts.signal?.aborted) throw new TiffinError(ErrorCodes.Timeout, "stopped waiting (interrupted)", { hint: "the apply is stored; `tiffin status JOB` shows how it goes" });
      const every = changes.live ? (opts.watchedPollMs ?? 5000) : (opts.pollMs ?? 500);
      await changes.next(Math.min(every, Math.max(0, opts.timeoutMs - (Date.now() - start))));
    }
  } finally {
    changes.close();
  }
}
