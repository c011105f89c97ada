// Builds the plain-data inputs of the pure decisions from the mirror (synchronously, so the
// modRevisions a transaction compares are the ones the decision read).

import { randomBytes } from "node:crypto";
import type { JobRecord } from "../../model/index.ts";
import type { SchedHost, SchedTask } from "../../scheduler/types.ts";
import type { Mirror } from "../mirror.ts";
import type { Approval, HostState, JobInput } from "./types.ts";
import { everyHostSlotsOf, runningSlots } from "./every-host-input.ts";

const base32 = "abcdefghijklmnopqrstuvwxyz234567";

/** A short unique id: `n` random base32 characters (50 bits for the default 10). */
export function randomId(n = 10): string {
  let out = "";
  for (let i = 0; i < n; i++) out += base32[randomByte() & 31];
  return out;
}

// Random bytes drawn from a pool: one randomBytes call per 4 KiB instead of one per id.
let pool = Buffer.alloc(0);
let poolAt = 0;
function randomByte(): number {
  if (poolAt >= pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  return pool[poolAt++] ?? 0;
}

const sortable = "0123456789abcdefghijklmnopqrstuv";

/**
 * An attempt id: the creation time in milliseconds (9 characters of sortable base32, so ids sort by
 * age and new attempts append to the end of the store's key index instead of dirtying random pages
 * of it), then a counter of this process (ids of one pass share their time), then 4 random
 * characters so two servers never make the same id.
 */
export function attemptId(now: number): string {
  counter = (counter + 1) % 32 ** 4;
  return sortableDigits(Math.max(0, Math.floor(now)), 9) + sortableDigits(counter, 4) + randomId(4);
}
let counter = 0;

function sortableDigits(n: number, width: number): string {
  let out = "";
  for (let i = 0; i < width; i++) {
    out = sortable[n % 32] + out;
    n = Math.floor(n / 32);
  }
  return out;
}

/** FNV-1a of a string: the scheduler's tie-break seed for a job, stable across runs. */
export function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The input of decideJob / placementNeeds for one job, or null when its version is missing. */
export function jobInput(
  m: Mirror,
  job: JobRecord,
  ctx: { hosts: ReadonlyMap<string, HostState>; usage: JobInput["usage"]; now: number; fenceMs: number; heartbeatMs: number; approvals?: (job: string) => ReadonlyMap<number, Approval> | undefined },
): JobInput | null {
  const version = m.spec(job.name, job.version);
  if (!version) return null;
  const tasks = [...(m.tasks.get(job.name)?.values() ?? [])].map((e) => e.value);
  const attempts = [];
  for (const id of m.attemptsByJob.get(job.name) ?? []) {
    const a = m.attempts.get(id);
    if (a) attempts.push(a.value);
  }
  const approvals = version.spec.disruption ? ctx.approvals?.(job.name) : undefined;
  const schedHost = (id: string): SchedHost | null => schedHostOf(m, id, ctx.hosts);
  return {
    job,
    ...(version.spec.everyHost === true ? { everyHost: runningSlots(everyHostSlotsOf(m, version.spec, tasks, ctx.hosts, schedHost)) } : {}),
    spec: version.spec,
    specOf: (v) => m.spec(job.name, v)?.spec ?? null,
    tasks,
    attempts,
    hosts: ctx.hosts,
    schedHost,
    usage: ctx.usage,
    now: ctx.now,
    fenceMs: ctx.fenceMs,
    heartbeatMs: ctx.heartbeatMs,
    newId: () => attemptId(ctx.now),
    ...(approvals ? { approvals } : {}),
  };
}

/** Hosts and placed tasks as the scheduler sees them. Only "up", non-draining hosts take new tasks. */
export function schedulerView(m: Mirror, hosts: ReadonlyMap<string, HostState>): { hosts: SchedHost[]; tasks: SchedTask[] } {
  return { hosts: schedHosts(m, hosts), tasks: schedTasks(m) };
}

/** The registered hosts as the scheduler sees them. */
export function schedHosts(m: Mirror, hosts: ReadonlyMap<string, HostState>): SchedHost[] {
  const sh: SchedHost[] = [];
  for (const id of m.hosts.keys()) {
    const h = schedHostOf(m, id, hosts);
    if (h) sh.push(h);
  }
  return sh;
}

/** One registered host as the scheduler sees it, or null when it is not registered. */
export function schedHostOf(m: Mirror, id: string, hosts: ReadonlyMap<string, HostState>): SchedHost | null {
  const h = m.hosts.get(id)?.value;
  if (!h) return null;
  const st = hosts.get(id);
  return {
    id,
    name: h.name,
    domain: h.domain,
    cores: h.cores,
    memoryMiB: h.memoryMiB,
    diskMiB: h.diskMiB,
    os: h.os,
    kernel: h.kernel,
    labels: h.labels,
    sandbox: h.runtime !== "none",
    capabilities: h.capabilities ?? [],
    unsandboxed: h.unsandboxed === true,
    schedulable: !h.draining && h.unschedulable !== true && st?.status === "up" && st.closed !== true,
  };
}

/** The placed tasks as the scheduler sees them. */
function schedTasks(m: Mirror): SchedTask[] {
  const st: SchedTask[] = [];
  for (const [job, byIndex] of m.tasks) {
    for (const { value: t } of byIndex.values()) {
      if (t.hostId === null) continue;
      const spec = m.spec(job, t.version)?.spec;
      st.push({
        job,
        index: t.index,
        hostId: t.hostId,
        cpu: spec?.resources.cpu ?? 0,
        memoryMiB: spec?.resources.memoryMiB ?? 0,
        diskMiB: spec?.resources.diskMiB ?? 0,
        antiAffinity: spec?.antiAffinity ?? null,
      });
    }
  }
  return st;
}
