// The application's approval of disruptions (Twine's TaskControl; spec `disruption.approve`): while
// this server leads, every `everyMs` it asks each such job's endpoint about the tasks a drain or a
// maintenance window would move next (reconcile/drain.ts drainCandidates without the approval check),
// and about the tasks a rollout's phase, a rolling restart or a metric action would stop next (the
// decision's `held`, reconcile/approval-gate.ts), and about the tasks of "endure" jobs a window stops at
// its start (reconcile/maintenance.ts endureAsks, from a little before it), one request per task at a
// time: POST `{job, index, host, cause, window?}` (`window`: the maintenance window's id, scope, target,
// reason, start and end, for cause "maintenance"), answer `{approve: true}` or
// `{approve: false, reason}`; no answer within the job's timeout is its `onTimeout`. The answers are
// kept in memory (a new leader asks again) and read by the decisions through JobInput.approvals: a
// task moves only once approved, and the drain report says why it waits.

import type { Logger } from "pino";
import { windowEnd } from "../model/index.ts";
import type { Clock, JobSpec, MaintenanceWindow } from "../model/index.ts";
import type { Liveness } from "./liveness.ts";
import type { Mirror } from "./mirror.ts";
import { usageByHost } from "./reconcile/commit.ts";
import { drainAllowance, drainCandidates } from "./reconcile/drain.ts";
import { endureAsks } from "./reconcile/maintenance.ts";
import { jobInput } from "./reconcile/inputs.ts";
import type { Approval } from "./reconcile/types.ts";
import { ApprovalRetryMs } from "./reconcile/approval-gate.ts";
import type { DisruptionCause } from "./reconcile/approval-gate.ts";
import { decideJob } from "./reconcile/decide.ts";
import type { Rollout } from "../model/index.ts";

/** The job's newest rollout record, as the reconcile pass gives it to decideJob. */
function latestRollout(m: Mirror, job: string): Rollout | null {
  let best: { n: number; r: Rollout } | null = null;
  for (const [n, e] of m.rollouts.get(job) ?? []) if (!best || n > best.n) best = { n, r: e.value };
  return best?.r ?? null;
}

/** How often the asker looks for tasks to ask about. */
export const ApprovalTickMs = 250;
/** How long a "yes" holds before it is asked again. */
export const ApprovalValidMs = 30_000;
/** How long a "not yet" (or a timeout) stands before the same task is asked again. */
export { ApprovalRetryMs };

/** The body of one approval request: the task, its host, why it would be disrupted, and for a
 * maintenance window which one (so the application can tell a 10-minute reboot from a decommission). */
export interface ApprovalRequest {
  job: string;
  index: number;
  host: string;
  cause: string;
  window?: { id: string; scope: MaintenanceWindow["scope"]; target: string; reason: string; start: number; end: number };
}

/** The request's `window` part for window `w`. */
export function windowPart(w: MaintenanceWindow): NonNullable<ApprovalRequest["window"]> {
  return { id: w.id, scope: w.scope, target: w.target, reason: w.reason, start: w.start, end: windowEnd(w) };
}

/** The answer of one approval request: `{approve, reason?}` as the application sent it, or why none came. */
export async function askApproval(policy: NonNullable<JobSpec["disruption"]>, body: ApprovalRequest, now: () => number): Promise<Approval> {
  try {
    const r = await fetch(policy.approve, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(policy.timeoutMs) });
    const a = (await r.json().catch(() => null)) as { approve?: unknown; reason?: unknown } | null;
    if (!r.ok || typeof a?.approve !== "boolean") return { ok: false, reason: `the approval endpoint answered ${r.status} without {"approve": true|false}`, at: now(), answered: false };
    return { ok: a.approve, reason: typeof a.reason === "string" ? a.reason.slice(0, 300) : a.approve ? "approved" : "not yet", at: now(), answered: true };
  } catch (err) {
    const timedOut = err instanceof Error && err.name === "TimeoutError";
    const what = timedOut ? `no answer within ${policy.timeoutMs} ms` : `the approval endpoint could not be reached (${err instanceof Error ? err.message : String(err)})`;
    return { ok: timedOut && policy.onTimeout === "allow", reason: `${what}${timedOut ? `: ${policy.onTimeout}` : ""}`, at: now(), answered: false };
  }
}

/** Options of the ApprovalAsker. */
export interface ApprovalAskerOptions {
  mirror: Mirror;
  liveness: Liveness;
  clock: Clock;
  log: Logger;
  fenceMs: number;
  /** True while this server leads; nothing is asked otherwise. */
  active: () => boolean;
  /** Called after each answer (the reconciler acts on it). */
  onAnswer: () => void;
  /** @default ApprovalTickMs */
  everyMs?: number;
}

/** Asks applications before their tasks are disrupted (see the file comment). */
export class ApprovalAsker {
  readonly #answers = new Map<string, Map<number, Approval>>();
  readonly #inflight = new Set<string>();
  readonly #o: ApprovalAskerOptions;
  #tick: { cancel(): void } | null = null;
  #stopped = false;

  constructor(opts: ApprovalAskerOptions) {
    this.#o = opts;
  }

  /** The answers of a job's tasks (by index). */
  of(job: string): ReadonlyMap<number, Approval> | undefined {
    return this.#answers.get(job);
  }

  /** Starts ticking. */
  start(): void {
    const tick = (): void => {
      if (this.#stopped) return;
      if (this.#o.active()) this.#look();
      else this.#answers.clear();
      this.#tick = this.#o.clock.setTimeout(tick, this.#o.everyMs ?? ApprovalTickMs);
    };
    tick();
  }

  /** Stops ticking (requests in flight finish on their own). */
  stop(): void {
    this.#stopped = true;
    this.#tick?.cancel();
  }

  #look(): void {
    const m = this.#o.mirror;
    const now = this.#o.clock.now();
    // Only jobs that ask: no input of a 10,000-task job (nor the hosts' usage) is built every tick to
    // find that it does not.
    const asking = [...m.jobs.values()].map((e) => e.value).filter((j) => j.removedAt === null && m.spec(j.name, j.version)?.spec.disruption);
    if (asking.length === 0) return;
    const hosts = this.#o.liveness.hostStates(now);
    const ctx = { hosts, usage: usageByHost(m), now, fenceMs: this.#o.fenceMs, heartbeatMs: this.#o.liveness.timing().heartbeatMs, approvals: (j: string) => this.of(j) };
    for (const job of asking) {
      const inp = jobInput(m, job, ctx);
      const policy = inp?.spec.disruption;
      if (!inp || !policy) continue;
      // What a drain or window would move next, and what this pass's decision held for approval (a
      // rollout's replacement or restart, a metric action: approval-gate.ts), with the job's rollout.
      const asks: { index: number; cause: DisruptionCause; window?: MaintenanceWindow }[] = drainCandidates(inp, drainAllowance(inp).allowed, { ignoreApproval: true }).map((t) => {
        const h = hosts.get(t.hostId ?? "");
        const w = h?.draining ? undefined : h?.windows?.find((x) => now < windowEnd(x));
        return { index: t.index, cause: w ? "maintenance" : "drain", ...(w ? { window: w } : {}) };
      });
      // Endure tasks a window stops at its start (asked from a little before it).
      for (const e of endureAsks(inp)) if (!asks.some((a) => a.index === e.index)) asks.push({ index: e.index, cause: "maintenance", window: e.window });
      inp.rollout = latestRollout(m, job.name);
      // Batch jobs are decided by batch-decide.ts, not decideJob: only their drains ask.
      if (!inp.spec.batch) for (const h of decideJob(inp).held ?? []) if (!asks.some((a) => a.index === h.index)) asks.push(h);
      const byIndex = new Map(inp.tasks.map((t) => [t.index, t]));
      for (const { index, cause, window } of asks) {
        const t = byIndex.get(index);
        if (!t) continue;
        const key = `${job.name}/${t.index}`;
        const prev = this.#answers.get(job.name)?.get(t.index);
        // A yes answers one cause: a task approved for a drain is asked again before a rollout stops it.
        if (this.#inflight.has(key) || (prev && (prev.cause ?? cause) === cause && now - prev.at < (prev.ok ? ApprovalValidMs : ApprovalRetryMs))) continue;
        this.#inflight.add(key);
        const host = m.hosts.get(t.hostId ?? "")?.value.name ?? t.hostId ?? "";
        void askApproval(policy, { job: job.name, index: t.index, host, cause, ...(window ? { window: windowPart(window) } : {}) }, () => this.#o.clock.now()).then((a) => {
          this.#inflight.delete(key);
          let byIndex = this.#answers.get(job.name);
          if (!byIndex) this.#answers.set(job.name, (byIndex = new Map()));
          // The same answer again keeps its since: the reports say how long the application has said it.
          const same = prev && prev.ok === a.ok && prev.reason === a.reason && (prev.cause ?? cause) === cause;
          byIndex.set(t.index, { ...a, cause, since: same ? (prev.since ?? prev.at) : a.at });
          this.#o.log.info({ job: job.name, index: t.index, host, ok: a.ok, reason: a.reason }, "disruption approval");
          this.#o.onAnswer();
        });
      }
    }
  }
}
