// What the read endpoints return, built from the mirror: JobSummary, JobStatus (with TaskViews), HostView.

import type { HostView, JobStatus, JobSummary, TaskView } from "../api/types.ts";
import { taskId, TaskOverheadMiB } from "../model/index.ts";
import type { Attempt, Host, Task } from "../model/index.ts";
import type { AllocValue } from "./keys.ts";
import type { Liveness } from "./liveness.ts";
import type { Mirror } from "./mirror.ts";

/** Attempts listed per task, newest first. */
const AttemptsShown = 10;

/** One task as `tiffin status` shows it. */
export function taskView(m: Mirror, t: Task): TaskView {
  const attempts = m.attemptsOf(t.job, t.index).sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  const cur: Attempt | null = t.attemptId ? (m.attempts.get(t.attemptId)?.value ?? null) : null;
  const host = t.hostId ? m.hosts.get(t.hostId)?.value : undefined;
  return {
    id: taskId(t.job, t.index),
    index: t.index,
    version: t.version,
    hostId: t.hostId,
    hostName: host?.name ?? null,
    state: t.parked ? "parked" : t.hostId === null ? "unplaced" : (cur?.state ?? "pending"),
    attemptId: t.attemptId,
    pid: cur?.pid ?? null,
    ports: cur?.ports ?? {},
    failures: t.failures,
    reason: t.parked ? t.parked.reason : t.hostId === null ? t.unplacedReason : (heldReason(cur) ?? cur?.reason ?? null),
    neverFits: t.hostId === null && t.neverFits === true,
    attempts: attempts.slice(0, AttemptsShown),
  };
}

/** Why a fired metric check has not restarted the attempt yet: the job's disruption budget; null otherwise. */
export function heldReason(a: Attempt | null): string | null {
  const m = a?.metricAction;
  if (!m || m.state !== "waiting" || m.held === null) return null;
  const tasks = (n: number): string => `${n} task${n === 1 ? "" : "s"}`;
  return `metric check ${m.check} fired (${m.condition}: ${Number.isInteger(m.value) ? m.value : m.value.toPrecision(3)}); ${m.action} held back by the job's disruption budget (${tasks(m.held.down)} down, at most ${tasks(m.held.budget)} at a time)`;
}

/** `GET /v1/jobs/:name`, or null for an unknown job. */
export function jobStatus(m: Mirror, name: string): JobStatus | null {
  const job = m.jobs.get(name)?.value;
  const version = job ? m.spec(name, job.version) : null;
  if (!job || !version) return null;
  const tasks = [...(m.tasks.get(name)?.values() ?? [])].map((e) => taskView(m, e.value)).sort((a, b) => a.index - b.index);
  return { name, version: job.version, removed: job.removedAt !== null, spec: version.spec, tasks };
}

/** One line per job for `tiffin jobs`. Each line is cached until its job changes (Mirror.jobStamp):
 * counting a million tasks on every poll would cost the server a core's tenth at once a second. */
export function jobSummaries(m: Mirror): JobSummary[] {
  let cache = summaryCache.get(m);
  if (!cache) summaryCache.set(m, (cache = new Map()));
  const out: JobSummary[] = [];
  for (const name of [...m.jobs.keys()].sort()) {
    const stamp = m.jobStamp(name);
    const hit = cache.get(name);
    if (hit && hit.stamp === stamp) {
      out.push(hit.summary);
      continue;
    }
    const summary = summarize(m, name);
    if (!summary) continue;
    cache.set(name, { stamp, summary });
    out.push(summary);
  }
  for (const name of cache.keys()) if (!m.jobs.has(name)) cache.delete(name);
  return out;
}

const summaryCache = new WeakMap<Mirror, Map<string, { stamp: number; summary: JobSummary }>>();

function summarize(m: Mirror, name: string): JobSummary | null {
  const job = m.jobs.get(name)?.value;
  if (!job) return null;
  const spec = m.spec(name, job.version)?.spec;
  let running = 0;
  let healthy = 0;
  let placed = 0;
  for (const { value: t } of m.tasks.get(name)?.values() ?? []) {
    if (t.hostId !== null) placed++;
    const state = t.attemptId ? m.attempts.get(t.attemptId)?.value.state : undefined;
    if (state === "running" || state === "healthy") running++;
    if (state === "healthy") healthy++;
  }
  // An every-host job's count is its tasks (one per matching host).
  const replicas = spec?.everyHost === true ? (m.tasks.get(name)?.size ?? 0) : (spec?.replicas ?? 0);
  return { name, version: job.version, replicas: job.removedAt === null ? replicas : 0, placed, running, healthy, removed: job.removedAt !== null };
}

/** Per host id, how many tasks run an attempt that fails its health check now. */
export function unhealthyByHost(m: Mirror): Map<string, number> {
  const out = new Map<string, number>();
  for (const byIndex of m.tasks.values()) {
    for (const { value: t } of byIndex.values()) {
      const a = t.attemptId ? m.attempts.get(t.attemptId)?.value : undefined;
      if (a?.state === "unhealthy") out.set(a.hostId, (out.get(a.hostId) ?? 0) + 1);
    }
  }
  return out;
}

/** A host with liveness, load and failing tasks (`unhealthy`: unhealthyByHost). */
export function hostView(live: Liveness, h: Host, usage: ReadonlyMap<string, AllocValue>, unhealthy: ReadonlyMap<string, number>): HostView {
  const u = usage.get(h.id);
  return {
    ...h,
    status: live.status(h.id),
    lastHeartbeatAt: live.lastHeartbeatAt(h.id),
    tasks: u?.tasks ?? 0,
    unhealthy: unhealthy.get(h.id) ?? 0,
    // Memory as the scheduler books it: each task's own and its helper's (TaskOverheadMiB).
    used: { cpu: u?.cpu ?? 0, memoryMiB: (u?.memoryMiB ?? 0) + (u?.tasks ?? 0) * TaskOverheadMiB, diskMiB: u?.diskMiB ?? 0 },
  };
}

/** A host by id, or else by name. */
export function findHost(m: Mirror, idOrName: string): Host | null {
  const byId = m.hosts.get(idOrName)?.value;
  if (byId) return byId;
  for (const { value } of m.hosts.values()) if (value.name === idOrName) return value;
  return null;
}

/** State of every task's current attempt, for the tasks gauge. */
export function taskStates(m: Mirror): string[] {
  const out: string[] = [];
  for (const byIndex of m.tasks.values()) {
    for (const { value: t } of byIndex.values()) {
      out.push(t.parked ? "parked" : t.hostId === null ? "unplaced" : ((t.attemptId ? m.attempts.get(t.attemptId)?.value.state : undefined) ?? "pending"));
    }
  }
  return out;
}
