// Turns a set of task and attempt writes into one store transaction that applies only if nothing it
// read has changed: a compare on every written key's modRevision, and on `/alloc/<host>` for every host
// whose used resources change (rewritten in the same transaction). Two servers (or two passes) that
// both read a host's alloc at the same revision can never both book it.

import type { Attempt, Task } from "../../model/index.ts";
import type { Compare, Op } from "../../state/store.ts";
import { allocKey, attemptKey, Kinds, taskKey } from "../kinds.ts";
import type { AllocValue } from "../kinds.ts";
import type { Mirror } from "../mirror.ts";
import type { Resources } from "../../model/index.ts";

/** Task and attempt writes of one transaction, and other guarded writes that go with them (a
 * job's rollout record, a rollback's new version: rollout-advance.ts). */
export interface WriteSet {
  tasks: Task[];
  deleteTasks: { job: string; index: number }[];
  attempts: Attempt[];
  deleteAttempts: string[];
  /** Compares and puts of other kinds, each already guarded by its own compare. */
  other?: { compare: Compare[]; success: Op[] };
}

/** A write set with nothing in it. */
export function emptyWriteSet(): WriteSet {
  return { tasks: [], deleteTasks: [], attempts: [], deleteAttempts: [] };
}

/** Adds `more` to `into` (write sets of different jobs: no key appears in both). */
export function appendWrites(into: WriteSet, more: WriteSet): void {
  for (const t of more.tasks) into.tasks.push(t);
  for (const d of more.deleteTasks) into.deleteTasks.push(d);
  for (const a of more.attempts) into.attempts.push(a);
  for (const id of more.deleteAttempts) into.deleteAttempts.push(id);
  if (more.other) {
    into.other ??= { compare: [], success: [] };
    into.other.compare.push(...more.other.compare);
    into.other.success.push(...more.other.success);
  }
}

/** Task and attempt writes in a write set (what a batch of them is sized by). */
export function weightOf(w: WriteSet): number {
  return w.tasks.length + w.deleteTasks.length + w.attempts.length + w.deleteAttempts.length + (w.other?.success.length ?? 0);
}

/** True when the write set writes nothing. */
export function isEmpty(w: WriteSet): boolean {
  return weightOf(w) === 0;
}

/** Resources a task occupies, from its version's spec (null when the version is unknown). */
export function taskResources(m: Mirror, job: string, version: number): Resources | null {
  return m.spec(job, version)?.spec.resources ?? null;
}

/** Used resources per host: the /alloc/<host> records, which every write that moves a task keeps
 * exact (buildTxn rewrites them under compare). Reading them costs O(hosts), not O(tasks). */
export function usageByHost(m: Mirror): Map<string, AllocValue> {
  const out = new Map<string, AllocValue>();
  for (const [hostId, e] of m.alloc) out.set(hostId, e.value);
  return out;
}

/** /alloc values written by transactions the mirror has not seen yet (host id -> the value and its text).
 * A transaction built on top of them compares those values instead of the mirror's revisions, so
 * the next batch can be planned while the previous one commits: if one fails, the ones built on it
 * fail their compares too. */
export type AllocOverlay = Map<string, { text: string; value: AllocValue }>;

/** The guarded transaction for a write set (compares on everything it read, alloc rewritten). With
 * an overlay, the /alloc records it writes are recorded there. */
export function buildTxn(m: Mirror, w: WriteSet, overlay?: AllocOverlay): { compare: Compare[]; success: Op[] } {
  const compare: Compare[] = [...(w.other?.compare ?? [])];
  const success: Op[] = [...(w.other?.success ?? [])];
  const guard = (key: string): void => void compare.push({ key, target: "modRevision", op: "==", value: m.modRevision(key) });
  const changedTasks = new Map<string, Task | null>();
  const hosts = new Set<string>();
  for (const t of w.tasks) {
    const key = taskKey(t.job, t.index);
    guard(key);
    success.push({ type: "put", key, value: Kinds.task.encode(t) });
    changedTasks.set(`${t.job}/${t.index}`, t);
    const before = m.tasks.get(t.job)?.get(t.index)?.value;
    if (before?.hostId !== t.hostId || before.version !== t.version) {
      if (before?.hostId) hosts.add(before.hostId);
      if (t.hostId) hosts.add(t.hostId);
    }
  }
  for (const { job, index } of w.deleteTasks) {
    const key = taskKey(job, index);
    guard(key);
    success.push({ type: "delete", key });
    changedTasks.set(`${job}/${index}`, null);
    const before = m.tasks.get(job)?.get(index)?.value;
    if (before?.hostId) hosts.add(before.hostId);
  }
  for (const a of w.attempts) {
    guard(attemptKey(a.id));
    success.push({ type: "put", key: attemptKey(a.id), value: Kinds.attempt.encode(a) });
  }
  for (const id of w.deleteAttempts) {
    guard(attemptKey(id));
    success.push({ type: "delete", key: attemptKey(id) });
  }
  // New usage per touched host = its /alloc record (exact: every task move rewrites it under compare)
  // minus what the changed tasks used before plus what they use now. O(changes), not O(tasks on host).
  const after = new Map<string, AllocValue>();
  const usageOf = (hostId: string): AllocValue => {
    let u = after.get(hostId);
    if (!u) {
      const pending = overlay?.get(hostId);
      const cur = pending !== undefined ? pending.value : m.alloc.get(hostId)?.value;
      u = cur ? { ...cur } : { cpu: 0, memoryMiB: 0, diskMiB: 0, tasks: 0 };
      after.set(hostId, u);
    }
    return u;
  };
  for (const [id, t] of changedTasks) {
    const slash = id.lastIndexOf("/");
    const before = m.tasks.get(id.slice(0, slash))?.get(Number(id.slice(slash + 1)))?.value ?? null;
    if (before?.hostId) add(usageOf(before.hostId), taskResources(m, before.job, before.version), -1);
    if (t?.hostId) add(usageOf(t.hostId), taskResources(m, t.job, t.version), 1);
  }
  for (const hostId of [...hosts].sort()) {
    const key = allocKey(hostId);
    const pending = overlay?.get(hostId);
    if (pending !== undefined) compare.push({ key, target: "value", op: "==", value: pending.text });
    else guard(key);
    const value = roundUsage(usageOf(hostId));
    const text = Kinds.alloc.encode(value);
    success.push({ type: "put", key, value: text });
    overlay?.set(hostId, { text, value });
  }
  return { compare, success };
}

function add(u: AllocValue, r: Resources | null, sign = 1): void {
  u.tasks += sign;
  if (!r) return;
  u.cpu += sign * r.cpu;
  u.memoryMiB += sign * r.memoryMiB;
  u.diskMiB += sign * r.diskMiB;
}

/** Sums of decimal cores drift (0.1 + 0.2); keep cpu to a millicore so records stay exact and readable. */
function roundUsage(u: AllocValue): AllocValue {
  return { ...u, cpu: Math.round(u.cpu * 1000) / 1000 };
}
