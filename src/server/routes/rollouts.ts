// Rollout endpoints: a job's latest rollout with what it waits for, its rollout history, and the
// user's commands (pause, resume, promote, abort). The controller itself runs in the reconcile loop
// (reconcile/rollout-advance.ts); a command is a guarded write of the rollout record it acts on.

import type { RolloutStatus } from "../../api/types.ts";
import { ErrorCodes, isLiveRollout, isTerminal, quoteId, TiffinError } from "../../model/index.ts";
import type { Rollout } from "../../model/index.ts";
import { formatDuration } from "../../spec/api.ts";
import { casLoop } from "../context.ts";
import type { ServerContext } from "../context.ts";
import { sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { Kinds, rolloutKey } from "../kinds.ts";
import type { Mirror } from "../mirror.ts";
import { applyRolloutCommand, RolloutCommands } from "../reconcile/rollout-commands.ts";
import type { RolloutCommand } from "../reconcile/rollout-commands.ts";
import { rollbackWrites, rolloutsOf } from "../reconcile/rollout-advance.ts";
import { reachedTasks } from "../reconcile/rollout-step.ts";
import { notFound } from "./jobs.ts";

/** The latest rollout of a job as `tiffin rollout status` shows it, at `now`. */
export function rolloutStatus(m: Mirror, name: string, now: number): RolloutStatus {
  const latest = rolloutsOf(m, name).at(-1) ?? null;
  const r = latest?.rollout ?? null;
  const tasks = [...(m.tasks.get(name)?.values() ?? [])].map((e) => e.value);
  if (r === null) return { name, n: 0, rollout: null, tasksDone: 0, tasksTotal: tasks.length, inPhaseMs: null, waitingFor: null };
  const total = r.phases.reduce((n, p) => n + p.tasks.length, 0);
  const isDone = (index: number): boolean => {
    const t = tasks.find((x) => x.index === index);
    if (!t) return false;
    if (r.cause !== "restart") return t.version === r.version;
    const a = t.attemptId ? m.attempts.get(t.attemptId)?.value : undefined;
    return a !== undefined && a.createdAt >= r.startedAt && !isTerminal(a.state);
  };
  const planned = [...reachedTasks(r, r.phases.length - 1)];
  const tasksDone = planned.filter(isDone).length;
  const p = r.phases[r.phase];
  const live = isLiveRollout(r);
  return { name, n: latest?.n ?? 0, rollout: r, tasksDone, tasksTotal: total, inPhaseMs: live && p?.startedAt != null ? Math.max(0, now - p.startedAt) : null, waitingFor: live ? waitingFor(r, now, planned.filter((i) => reachedTasks(r).has(i) && !isDone(i)).length) : null };
}

/** What a live rollout waits for, in words. */
function waitingFor(r: Rollout, now: number, pending: number): string {
  if (r.state === "paused") return r.failure ? `a human: phase ${r.phase + 1} failed (${r.why ?? r.failure.check}); \`tiffin rollout resume\` retries it, \`abort\` rolls back` : "`tiffin rollout resume`";
  const p = r.phases[r.phase];
  if (!p) return "the last step";
  const deadline = (p.startedAt ?? now) + r.policy.deadlineMs;
  if (pending > 0 || p.healthyAt === null) return `phase ${r.phase + 1}: ${pending > 0 ? `${pending} task(s) to move to the new version` : "new tasks to be healthy"}, deadline in ${formatDuration(Math.max(0, deadline - now))}`;
  return `phase ${r.phase + 1}: the bake, ${formatDuration(Math.max(0, p.healthyAt + r.policy.bakeMs - now))} left`;
}

/** Registers the rollout routes. */
export function rolloutRoutes(r: Router, ctx: ServerContext): void {
  const m = ctx.mirror;
  const known = (name: string): void => {
    if (!m.jobs.has(name)) throw notFound(name);
  };
  r.add("GET", "/v1/jobs/:name/rollout", "admin", async ({ res, params }) => {
    const name = params["name"] ?? "";
    known(name);
    sendJson(res, 200, rolloutStatus(m, name, ctx.clock.now()));
  });
  r.add("GET", "/v1/jobs/:name/rollouts", "admin", async ({ res, params }) => {
    const name = params["name"] ?? "";
    known(name);
    sendJson(res, 200, rolloutsOf(m, name).map((x) => x.rollout));
  });
  r.add("POST", "/v1/jobs/:name/rollout/:command", "admin", async ({ res, params }) => {
    const name = params["name"] ?? "";
    const cmd = RolloutCommands.find((c) => c === params["command"]);
    if (!cmd) throw new TiffinError(ErrorCodes.NotFound, `no rollout command "${params["command"] ?? ""}"`, { hint: `use one of: ${RolloutCommands.join(", ")}` });
    known(name);
    await casLoop(ctx, `rollout ${cmd} of ${name}`, () => commandTxn(m, name, cmd, ctx.clock.now()));
    ctx.log.info({ job: name, command: cmd }, "rollout command");
    sendJson(res, 200, rolloutStatus(m, name, ctx.clock.now()));
  });
}

/** The guarded write of a command on the job's latest rollout; throws (409) when it does not apply. */
function commandTxn(m: Mirror, name: string, cmd: RolloutCommand, now: number): ReturnType<typeof rollbackWrites> {
  const latest = rolloutsOf(m, name).at(-1) ?? null;
  const job = m.jobs.get(name)?.value;
  const out = applyRolloutCommand(latest && job && latest.rollout.version === job.version ? latest.rollout : null, cmd, now);
  if (!out.ok || !latest || !job) {
    const why = out.ok ? `no rollout of job ${quoteId(name)}` : `job ${quoteId(name)}: ${out.problem}`;
    throw new TiffinError(ErrorCodes.Conflict, why, { hint: out.ok ? "apply a new version first" : out.hint });
  }
  if (out.rollback && out.rollout.from !== null) {
    const tasks = [...(m.tasks.get(name)?.values() ?? [])].map((e) => e.value);
    const spec = m.spec(name, job.version)?.spec;
    if (spec) return rollbackWrites(m, { job, tasks, spec, now }, latest.n, out.rollout, out.rollout.from);
  }
  const key = rolloutKey(name, latest.n);
  return { compare: [{ key, target: "modRevision", op: "==", value: m.modRevision(key) }], success: [{ type: "put", key, value: Kinds.rollout.encode(out.rollout) }], rollout: out.rollout };
}
