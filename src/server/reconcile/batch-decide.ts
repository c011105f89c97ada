// The reconcile decisions for one batch job (issue 18), as a pure function over plain data: which run
// goes, which of its items get a task now (at most `parallelism`), what an ended attempt means for its
// item (done, retried after a back-off, failed for good), when the run ends (success policy, failed
// items policy, deadline) and which old runs go. Level-triggered like decide.ts: given its own output
// applied, it returns nothing more to do (until the clock passes a back-off or a deadline).
//
// A batch task is `/tasks/<job>/<item index>` with `batch` naming its run and item; it lives from the
// item's start to its attempt's end and is then deleted at once, so its host's resources are freed in
// the same transaction (commit.ts). The placement phase places it like any task (decide.ts
// placementNeeds); its attempt records stay, with the agent's logs, while the run is kept.

import { isRunOver, isTerminal, itemValue, retryBackoffMs, upstreamGate } from "../../model/index.ts";
import type { Attempt, BatchPolicy, JobSpec, Run, RunAttempt, RunItem, Task, UpstreamGate, UpstreamRun } from "../../model/index.ts";
import { stableJson } from "../keys.ts";
import { lostAfter } from "./decide.ts";
import type { JobInput } from "./types.ts";

/** What decideBatch reads: the job's input as decideJob has it, the job's runs, and the runs of other
 * jobs its runs wait for (`Run.after`; absent: none is known). */
export type BatchJobInput = Pick<JobInput, "job" | "spec" | "specOf" | "tasks" | "attempts" | "hosts" | "now" | "fenceMs" | "heartbeatMs"> & { runs: Run[]; upstream?: (job: string, id: string) => UpstreamRun };

/** The writes one batch decision wants. */
export interface BatchDecision {
  putRuns: Run[];
  deleteRuns: string[];
  putTasks: Task[];
  deleteTasks: number[];
  putAttempts: Attempt[];
  deleteAttempts: string[];
}

/** The record an ended attempt leaves in its item. */
export function runAttemptOf(a: Attempt): RunAttempt {
  return { id: a.id, hostId: a.hostId, state: a.state, exitCode: a.exitCode, signal: a.signal, reason: a.reason, startedAt: a.startedAt, endedAt: a.endedAt };
}

/** True when an ended attempt did its item's work: the process exited by itself with code 0. */
export function succeeded(a: Attempt): boolean {
  return a.state === "exited" && a.exitCode === 0 && a.signal === null;
}

/** How a running run ends now, or null while it goes on (pure: the policy and the items' states). */
export function runOutcome(policy: BatchPolicy, items: readonly RunItem[], startedAt: number, now: number): { state: "succeeded" | "failed"; reason: string } | null {
  const need = policy.successCount ?? policy.completions;
  const done = items.filter((i) => i.state === "succeeded").length;
  const failed = items.filter((i) => i.state === "failed");
  const open = items.some((i) => i.state === "pending" || i.state === "running");
  const which = (): string => failed.slice(0, 10).map((i) => i.index).join(", ") + (failed.length > 10 ? ", ..." : "");
  if (done >= need) return { state: "succeeded", reason: `${done} of ${items.length} items succeeded` };
  if (failed.length > 0 && policy.failedItems === "stop") return { state: "failed", reason: `item ${which()} failed after ${policy.retries.limit + 1} attempts (failedItems: stop)` };
  if (!open) return { state: "failed", reason: `${done} of ${items.length} items succeeded, ${need} needed; failed: ${which()}` };
  if (policy.deadlineMs !== null && now >= startedAt + policy.deadlineMs) return { state: "failed", reason: `deadline of ${policy.deadlineMs} ms passed with ${done} of ${need} items done` };
  return null;
}

/** The writes that bring one batch job's runs, tasks and attempts to where they should be. */
export function decideBatch(inp: BatchJobInput): BatchDecision {
  const { job, now } = inp;
  const policy = inp.spec.batch;
  const out: BatchDecision = { putRuns: [], deleteRuns: [], putTasks: [], deleteTasks: [], putAttempts: [], deleteAttempts: [] };
  if (!policy) return out;
  const specFor = (v: number): JobSpec => (v === job.version ? inp.spec : (inp.specOf(v) ?? inp.spec));
  // A run keeps the policy (and its tasks the version) it started with, whatever is applied meanwhile.
  const policyOf = (r: Run): BatchPolicy => specFor(r.version).batch ?? policy;
  const atts = new Map(inp.attempts.map((a) => [a.id, a]));
  const putAtt = (a: Attempt): void => {
    atts.set(a.id, a);
    out.putAttempts = [...out.putAttempts.filter((x) => x.id !== a.id), a];
  };
  // Runs are copied before the first change, and their items one by one (copy on write: a run may
  // have 10,000 items and a pass changes a few); only what differs at the end is written.
  const before = new Map(inp.runs.map((r) => [r.id, r]));
  const runs = new Map(before);
  const owned = new Map<string, Set<number>>();
  const mut = (id: string): Run | null => {
    const r = runs.get(id);
    if (!r) return null;
    if (r !== before.get(id)) return r;
    const copy = { ...r, params: { ...r.params }, items: r.items.slice() };
    runs.set(id, copy);
    owned.set(id, new Set());
    return copy;
  };
  /** Item `index` of a run `mut` returned, copied before its first change. */
  const mutItem = (r: Run, index: number): RunItem | undefined => {
    const it = r.items[index];
    const mine = owned.get(r.id);
    if (!it || !mine || mine.has(index)) return it;
    const copy = { ...it, attempts: it.attempts.slice() };
    r.items[index] = copy;
    mine.add(index);
    return copy;
  };

  // Attempts on down hosts end as "lost" (a failed attempt of its item) once no copy can still run there.
  for (const a of atts.values()) {
    if (isTerminal(a.state)) continue;
    const h = inp.hosts.get(a.hostId);
    if (h && h.status !== "down") continue;
    if (now < lostAfter(specFor(a.version), h, inp)) continue;
    putAtt({ ...a, state: "lost", desired: "stop", reason: "host down", endCause: "lost", endedAt: now });
  }
  const stop = (a: Attempt | undefined): void => {
    if (a && !isTerminal(a.state) && a.desired === "run") putAtt({ ...a, desired: "stop" });
  };

  // Each task: an ended attempt decides its item and frees the task; a task whose run is over stops.
  const live = new Map<number, Task>();
  for (const t of [...inp.tasks].sort((a, b) => a.index - b.index)) {
    const cur = t.attemptId ? atts.get(t.attemptId) : undefined;
    const run = t.batch ? runs.get(t.batch.run) : undefined;
    const item = run?.items[t.index];
    const over = job.removedAt !== null || !run || isRunOver(run.state) || item?.state !== "running";
    if (cur && isTerminal(cur.state)) {
      const r = t.batch ? mut(t.batch.run) : null;
      const it = r && !r.items[t.index]?.attempts.some((x) => x.id === cur.id) ? mutItem(r, t.index) : undefined;
      if (r && it) {
        it.attempts.push(runAttemptOf(cur));
        if (it.state === "running") {
          if (isRunOver(r.state) || job.removedAt !== null) it.state = "cancelled";
          else if (succeeded(cur)) it.state = "succeeded";
          else {
            it.failures++;
            const p = policyOf(r);
            it.state = it.failures > p.retries.limit ? "failed" : "pending";
            it.notBefore = now + retryBackoffMs(p, it.failures);
          }
        }
      }
      out.deleteTasks.push(t.index);
      continue;
    }
    if (over) {
      if (cur) stop(cur);
      else {
        // Never placed: nothing runs, the task goes at once.
        out.deleteTasks.push(t.index);
        const r = run && item?.state === "running" ? mut(run.id) : null;
        const it = r ? mutItem(r, t.index) : undefined;
        if (it) it.state = "cancelled";
        continue;
      }
    }
    live.set(t.index, t);
  }

  // An item marked running whose task is gone (written apart from it by an older pass, or deleted by
  // hand) would wait for ever: it is pending again, with no failure counted.
  // Sets, not scans: a run may have 10,000 items and a job hundreds of tasks.
  const taskOf = new Map(inp.tasks.map((t) => [t.index, t]));
  const deleted = new Set(out.deleteTasks);
  for (const r of [...runs.values()]) {
    if (isRunOver(r.state)) continue;
    const lost = r.items.filter((it) => it.state === "running" && taskOf.get(it.index)?.batch?.run !== r.id);
    const w = lost.length > 0 ? mut(r.id) : null;
    for (const it of lost) {
      const c = w ? mutItem(w, it.index) : undefined;
      if (c) c.state = "pending";
    }
  }

  // The job removed: every run not over is cancelled (its tasks stop above, on the next pass).
  const ordered = [...runs.values()].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  if (job.removedAt !== null) {
    for (const r of ordered) if (!isRunOver(r.state)) endRun(mut(r.id), mutItem, "cancelled", "the job was removed", now);
  }
  // One run at a time: the oldest running one, else the oldest queued one starts.
  // A queued run waiting for upstream runs (a workflow) starts once they succeeded, and is cancelled
  // when one did not; while it waits, the runs queued after it wait too (runs go in order).
  let active = ordered.find((r) => r.state === "running") ?? null;
  if (!active && job.removedAt === null) {
    for (const next of ordered) {
      if (next.state !== "queued") continue;
      const gate: UpstreamGate = next.after ? upstreamGate(next.after, inp.upstream ?? (() => null)) : { kind: "go" };
      if (gate.kind === "cancel") {
        endRun(mut(next.id), mutItem, "cancelled", gate.reason, now);
        continue;
      }
      if (gate.kind === "wait") {
        const w = next.reason === gate.reason ? null : mut(next.id);
        if (w) w.reason = gate.reason;
        break;
      }
      active = mut(next.id);
      if (active) {
        active.state = "running";
        active.startedAt = now;
        active.reason = null;
      }
      break;
    }
  }
  if (active) {
    const r = mut(active.id) ?? active;
    const p = policyOf(r);
    const outcome = runOutcome(p, r.items, r.startedAt ?? now, now);
    if (outcome) {
      endRun(r, mutItem, outcome.state, outcome.reason, now);
      for (const t of live.values()) if (t.batch?.run === r.id) stop(t.attemptId ? atts.get(t.attemptId) : undefined);
    } else {
      let running = [...live.values()].filter((t) => t.batch?.run === r.id).length;
      for (const was of r.items) {
        if (running >= p.parallelism) break;
        if (was.state !== "pending" || was.notBefore > now || live.has(was.index) || (taskOf.has(was.index) && !deleted.has(was.index))) continue;
        const it = mutItem(r, was.index);
        if (!it) continue;
        it.state = "running";
        running++;
        out.putTasks.push({
          job: job.name, index: it.index, version: r.version, hostId: null, attemptId: null, failures: 0, avoidHosts: [], unplacedReason: null,
          batch: { run: r.id, item: it.index, value: itemValue(p, it.index), params: { ...r.params } },
        });
      }
      // Why items wait, when they do: the placement's reason (no host fits...), shown by `tiffin runs`.
      const unplaced = [...live.values()].find((t) => t.batch?.run === r.id && t.hostId === null && t.unplacedReason !== null);
      r.reason = unplaced ? `items waiting for a host: ${unplaced.unplacedReason}` : null;
    }
  }

  // Retention: the newest `keepRuns` finished runs stay; older ones go with their attempts' records,
  // once none of their tasks is left.
  const finished = ordered.filter((r) => isRunOver(r.state)).reverse();
  const busy = new Set(inp.tasks.filter((t) => !deleted.has(t.index)).map((t) => t.batch?.run));
  for (const r of finished.slice(policy.keepRuns)) {
    if (busy.has(r.id)) continue;
    out.deleteRuns.push(r.id);
    runs.delete(r.id);
    for (const it of r.items) for (const a of it.attempts) if (atts.get(a.id) && isTerminal(atts.get(a.id)?.state ?? "pending")) out.deleteAttempts.push(a.id);
  }

  for (const [id, r] of runs) {
    const was = before.get(id);
    if (r === was) continue;
    if (was === undefined || changed(was, r, owned.get(id))) out.putRuns.push(r);
  }
  return out;
}

/** True when a copied run differs from what it was: its own fields, or one of the items it copied
 * (the others are the same objects). */
function changed(was: Run, r: Run, copied: ReadonlySet<number> | undefined): boolean {
  if (stableJson({ ...was, items: [] }) !== stableJson({ ...r, items: [] })) return true;
  for (const i of copied ?? []) if (stableJson(was.items[i]) !== stableJson(r.items[i])) return true;
  return false;
}

/** Ends a run: its pending items are cancelled; running ones are cancelled as their attempts end. */
function endRun(r: Run | null, mutItem: (r: Run, index: number) => RunItem | undefined, state: "succeeded" | "failed" | "cancelled", reason: string, now: number): void {
  if (!r) return;
  r.state = state;
  r.reason = reason;
  r.endedAt = now;
  for (const was of r.items) {
    if (was.state !== "pending") continue;
    const it = mutItem(r, was.index);
    if (it) it.state = "cancelled";
  }
}
