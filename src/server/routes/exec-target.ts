// What both kinds of exec (the plain POST and the interactive upgrade) share: finding the task's
// running attempt and its agent, and the audit entry, written before the command runs and completed
// after, so an exec that never finishes (server crash) still leaves its entry.

import { randomBytes } from "node:crypto";
import type { ExecAuditEntry as AuditEntry } from "../../api/types.ts";
import type { Actor, Attempt, Host } from "../../model/index.ts";
import { cliJob, ErrorCodes, isTerminal, showTask, TiffinError } from "../../model/index.ts";
import type { ServerContext } from "../context.ts";
import { auditKey, Kinds } from "../kinds.ts";
import { notFound } from "./jobs.ts";

/** The running attempt of a task and how to reach its agent. */
export interface ExecTarget {
  job: string;
  index: number;
  attempt: Attempt;
  host: Host;
  /** The host token the agent's endpoint wants. */
  token: string;
}

/** Finds the target of `/v1/tasks/:job/:index/exec`; throws NOT_FOUND or CONFLICT as a TiffinError. */
export function execTarget(ctx: ServerContext, params: Record<string, string>): ExecTarget {
  const m = ctx.mirror;
  const job = params["job"] ?? "";
  const index = Number(params["index"]);
  if (!m.jobs.has(job)) throw notFound(job);
  const task = Number.isInteger(index) ? m.tasks.get(job)?.get(index)?.value : undefined;
  if (!task) throw new TiffinError(ErrorCodes.NotFound, `task ${showTask(job, params["index"] ?? "")} not found`, { hint: `see the job's tasks with \`tiffin status ${cliJob(job)}\`` });
  const attempt = task.attemptId ? m.attempts.get(task.attemptId)?.value : undefined;
  if (!attempt || isTerminal(attempt.state) || attempt.state === "pending") {
    throw new TiffinError(ErrorCodes.Conflict, `task ${showTask(job, index)} has no running attempt${attempt ? ` (${attempt.id} is ${attempt.state})` : ""}`, {
      hint: "exec works while the task runs; `tiffin status JOB` shows its state",
    });
  }
  const host = m.hosts.get(attempt.hostId)?.value;
  const token = m.hostTokens.get(attempt.hostId);
  if (!host || !token) throw new TiffinError(ErrorCodes.NotFound, `host ${attempt.hostId} of attempt ${attempt.id} is not registered`, { hint: "`tiffin hosts` lists the hosts" });
  return { job, index, attempt, host, token };
}

/** Completes an audit entry (end time now); never rejects. */
export type AuditFinish = (patch: Partial<AuditEntry>) => Promise<void>;

/** Writes the audit entry of an exec that is about to run; resolves with the function that completes it. */
export async function startAudit(ctx: ServerContext, t: ExecTarget, command: string[], user: string | null, remote: string | null, mode: AuditEntry["mode"] = "output", by?: Actor): Promise<AuditFinish> {
  const at = ctx.clock.now();
  const id = randomBytes(6).toString("hex");
  const entry: AuditEntry = {
    id,
    at,
    action: "exec",
    user: user === null ? null : user.slice(0, 200),
    remote,
    job: t.job,
    index: t.index,
    attemptId: t.attempt.id,
    hostId: t.attempt.hostId,
    command,
    ...(mode === undefined ? {} : { mode }),
    exitCode: null,
    signal: null,
    error: null,
    endedAt: null,
    ...(by ? { by } : {}),
  };
  const key = auditKey(at, id);
  await ctx.store.put(key, Kinds.audit.encode(entry));
  ctx.log.info({ audit: entry }, "exec");
  return async (patch) => {
    await ctx.store.put(key, Kinds.audit.encode({ ...entry, ...patch, endedAt: ctx.clock.now() })).catch((err: unknown) => ctx.log.error({ err, key }, "cannot complete an audit entry"));
  };
}
