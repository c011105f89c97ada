// How runs of batch jobs are stored (issue 18): the run record (`/runs/<job>/<id>`) without its items,
// and one record per item (`/runitems/<job>/<id>/<index>`) once the item left "pending". A change of
// one item is one small write, not a rewrite of the whole run (which made a run's store cost grow with
// the square of its items: bench/RESULTS.md). Reads assemble the API's Run; writes diff against the
// mirror and guard every key they write by the modRevision they read.

import { isRunOver, noRunRef, pendingItem, runProgressOf } from "../model/index.ts";
import type { BatchPolicy, Run, RunItem, UpstreamRun } from "../model/index.ts";
import type { Compare, Op } from "../state/store.ts";
import { Kinds, runItemKey, runKey } from "./kinds.ts";
import { stableJson } from "./keys.ts";
import type { Mirror } from "./mirror.ts";

/** An item never stored, as it reads: pending, or cancelled once its run is over (so ending a run of
 * 10,000 items that never started writes none of them). */
function unstoredItem(header: Run, index: number): RunItem {
  const it = pendingItem(index);
  return isRunOver(header.state) ? { ...it, state: "cancelled" } : it;
}

/** True when an item is what unstoredItem gives (field by field: no JSON text for 10,000 new items). */
function readsUnstored(header: Run, it: RunItem): boolean {
  const u = unstoredItem(header, it.index);
  return it.state === u.state && it.failures === 0 && it.notBefore === 0 && it.attempts.length === 0 && Object.keys(it).length === Object.keys(u).length;
}

/** A run with its items, as the mirror has them. */
export function assembleRun(m: Mirror, header: Run): Run {
  const stored = m.runItems.get(`${header.job}/${header.id}`);
  const items: RunItem[] = [];
  for (let i = 0; i < header.size; i++) items.push(stored?.get(i)?.value ?? unstoredItem(header, i));
  return { ...header, items };
}

/** One run with its items, or null. */
export function runById(m: Mirror, job: string, id: string): Run | null {
  const h = m.runs.get(job)?.get(id)?.value;
  return h ? assembleRun(m, h) : null;
}

/** The job's runs with their items. */
export function runsOf(m: Mirror, job: string): Run[] {
  return [...(m.runs.get(job)?.values() ?? [])].map((e) => assembleRun(m, e.value));
}

/** The guarded writes that take a run from `before` (null: absent, so created only if absent) to
 * `after`: the record when its own fields changed, and each item that changed. */
export function runWrites(m: Mirror, before: Run | null, after: Run): { compare: Compare[]; success: Op[] } {
  const compare: Compare[] = [];
  const success: Op[] = [];
  const guarded = (key: string, value: string): void => {
    compare.push({ key, target: "modRevision", op: "==", value: m.modRevision(key) });
    success.push({ type: "put", key, value });
  };
  // The record carries its items' counts (what a watch of runs shows); written when they change.
  const header = (r: Run): Run => ({ ...r, items: [], progress: runProgressOf(r.items) });
  if (before === null || stableJson(header(before)) !== stableJson(header(after))) guarded(runKey(after.job, after.id), Kinds.run.encode(header(after)));
  const stored = m.runItems.get(`${after.job}/${after.id}`);
  after.items.forEach((it, i) => {
    const was = before?.items[i];
    // The same object: unchanged (decisions copy the items they change), no text to compare.
    if (was === it) return;
    // An item that reads as it is without a record needs none.
    if (!stored?.has(i) && readsUnstored(after, it)) return;
    const text = stableJson(it);
    if (was !== undefined && stableJson(was) === text) return;
    guarded(runItemKey(after.job, after.id, i), Kinds.runItem.encode(it));
  });
  return { compare, success };
}

/** The guarded deletes of a run and its stored items. */
export function runDeletes(m: Mirror, job: string, id: string): { compare: Compare[]; success: Op[] } {
  const keys = [runKey(job, id), ...[...(m.runItems.get(`${job}/${id}`)?.keys() ?? [])].map((i) => runItemKey(job, id, i))];
  return { compare: keys.map((key) => ({ key, target: "modRevision", op: "==", value: m.modRevision(key) })), success: keys.map((key) => ({ type: "delete", key })) };
}

/** A new run with the upstream runs it waits for (its job's `batch.after`): the newest run of each
 * upstream job now ("job/id"), or "job/" for one without a run (model/batch-after.ts). */
export function withUpstream(m: Mirror, run: Run, policy: BatchPolicy): Run {
  if (!policy.after || policy.after.length === 0) return run;
  const refs = policy.after.map((job) => {
    let newest: Run | null = null;
    for (const e of m.runs.get(job)?.values() ?? []) if (!newest || e.value.createdAt > newest.createdAt || (e.value.createdAt === newest.createdAt && e.value.id > newest.id)) newest = e.value;
    return newest ? `${job}/${newest.id}` : noRunRef(job);
  });
  return { ...run, after: refs };
}

/** An upstream run's state as the mirror has it, for the workflow gate. */
export function upstreamRun(m: Mirror, job: string, id: string): UpstreamRun {
  const r = m.runs.get(job)?.get(id)?.value;
  return r ? { state: r.state, reason: r.reason } : null;
}
