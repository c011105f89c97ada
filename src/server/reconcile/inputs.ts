// Builds the plain-data inputs of the pure decisions from the mirror (synchronously, so the
// modRevisions a transaction compares are the ones the decision read).

import { randomBytes } from "node:crypto";
import type { JobRecord } from "../../model/index.ts";
import type { SchedHost, SchedTask } from "../../scheduler/types.ts";
import type { Mirror } from "../mirror.ts";
import type { HostState, JobInput, Resources } from "./types.ts";

const base32 = "abcdefghijklmnopqrstuvwxyz234567";

/** A short unique id: `n` random base32 characters (50 bits for the default 10). */
export function randomId(n = 10): string {
  const bytes = randomBytes(n);
  let out = "";
  for (const b of bytes) out += base32[b & 31];
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
  ctx: { hosts: ReadonlyMap<string, HostState>; usage: ReadonlyMap<string, Resources>; now: number; fenceMs: number },
): JobInput | null {
  const version = m.spec(job.name, job.version);
  if (!version) return null;
  const tasks = [...(m.tasks.get(job.name)?.values() ?? [])].map((e) => e.value);
  const attempts = [];
  for (const id of m.attemptsByJob.get(job.name) ?? []) {
    const a = m.attempts.get(id);
    if (a) attempts.push(a.value);
  }
  return {
    job,
    spec: version.spec,
    specOf: (v) => m.spec(job.name, v)?.spec ?? null,
    tasks,
    attempts,
    hosts: ctx.hosts,
    usage: ctx.usage,
    now: ctx.now,
    fenceMs: ctx.fenceMs,
    newId: () => randomId(),
  };
}

/** Hosts and placed tasks as the scheduler sees them. Only "up", non-draining hosts take new tasks. */
export function schedulerView(m: Mirror, hosts: ReadonlyMap<string, HostState>): { hosts: SchedHost[]; tasks: SchedTask[] } {
  const sh: SchedHost[] = [];
  for (const [id, { value: h }] of m.hosts) {
    const st = hosts.get(id);
    sh.push({
      id,
      name: h.name,
      domain: h.domain,
      cores: h.cores,
      memoryMiB: h.memoryMiB,
      diskMiB: h.diskMiB,
      os: h.os,
      kernel: h.kernel,
      labels: h.labels,
      schedulable: !h.draining && st?.status === "up",
    });
  }
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
  return { hosts: sh, tasks: st };
}
