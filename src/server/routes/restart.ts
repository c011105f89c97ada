// `POST /v1/jobs/:name/restart {index?}`: restart a job's tasks (or one): parked tasks are released
// and placed afresh, live ones get a new attempt where they are. One task: at once
// (reconcile/restart-task.ts decides). The whole job: a rolling restart, a Rollout of cause "restart"
// through the job's phases and disruption budget (nomad#698), so the job never goes down at once.

import type { RestartResult } from "../../api/types.ts";
import { z } from "zod";
import { cliJob, ErrorCodes, quoteId, TiffinError, valueAt } from "../../model/index.ts";
import { casLoop } from "../context.ts";
import type { ServerContext } from "../context.ts";
import { showValue } from "../../spec/problems.ts";
import { parseBody } from "../http/bodies.ts";
import { readJson, sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import type { RestartDecision } from "../reconcile/restart-task.ts";
import { notFound } from "./jobs.ts";
import { restartTxn } from "./restart-txn.ts";
import { isLiveRollout, isTerminal } from "../../model/index.ts";
import type { Compare, Op } from "../../state/store.ts";
import { Kinds, rolloutKey } from "../kinds.ts";
import type { Mirror } from "../mirror.ts";
import { rolloutsOf } from "../reconcile/rollout-advance.ts";
import { phaseTasks, startRollout } from "../reconcile/rollout-start.ts";

/** The guarded txn of a rolling restart of job `name`: parked tasks released at once, and a restart
 * rollout (superseding a live one) for the live ones. */
export function rollingRestartTxn(m: Mirror, name: string, now: number): { compare: Compare[]; success: Op[]; outcome: RestartDecision["outcome"] } {
  const unpark = restartTxn(m, name, null, false);
  const compare: Compare[] = [...(unpark?.compare ?? [])];
  const success: Op[] = [...(unpark?.success ?? [])];
  const outcome: RestartDecision["outcome"] = [...(unpark?.outcome ?? [])];
  const job = m.jobs.get(name)?.value;
  const spec = job ? m.spec(name, job.version)?.spec : undefined;
  if (!job || !spec) return { compare, success, outcome };
  // An every-host job's tasks are all its own (those of hosts that left are deleted as they stop).
  const count = spec.everyHost === true ? Number.MAX_SAFE_INTEGER : spec.replicas;
  const tasks = [...(m.tasks.get(name)?.values() ?? [])].map((e) => e.value).filter((t) => t.index < count);
  for (const t of tasks) {
    const a = t.attemptId ? m.attempts.get(t.attemptId)?.value : undefined;
    if (a && !isTerminal(a.state) && a.desired === "run" && !outcome.some((o) => o.index === t.index)) outcome.push({ index: t.index, action: "restarted" });
  }
  if (!outcome.some((o) => o.action === "restarted")) return { compare, success, outcome };
  const put = (n: number, value: string): void => {
    const key = rolloutKey(name, n);
    compare.push({ key, target: "modRevision", op: "==", value: m.modRevision(key) });
    success.push({ type: "put", key, value });
  };
  const all = rolloutsOf(m, name);
  for (const { n, rollout } of all) if (isLiveRollout(rollout)) put(n, Kinds.rollout.encode({ ...rollout, state: "superseded", endedAt: now, updatedAt: now, why: "a rolling restart began" }));
  const r = startRollout({ job: name, version: job.version, from: null, cause: "restart", spec, tasks: phaseTasks(tasks, count, (id) => m.hosts.get(id)?.value.domain ?? null), now });
  put((all.at(-1)?.n ?? 0) + 1, Kinds.rollout.encode(r));
  outcome.sort((a, b) => a.index - b.index);
  return { compare, success, outcome };
}

/** `{index?}`: one task, or (absent or null) every task of the job. */
/** `POST /v1/jobs/:name/restart`. */
export const restartBody = z.object({ index: z.number().int().min(0).nullable().exactOptional() });

/** Registers the restart route. */
export function restartRoutes(r: Router, ctx: ServerContext): void {
  const m = ctx.mirror;
  r.add("POST", "/v1/jobs/:name/restart", "admin", async ({ req, res, params }) => {
    const name = params["name"] ?? "";
    const body: unknown = (await readJson(req)) ?? {};
    // Shown short and never thrown on: JSON.stringify of a deeply nested body overflowed the stack (a 500).
    const got = showValue(valueAt(body, ["index"]) ?? body) ?? "nothing";
    const parsed = parseBody(restartBody, body, `index must be a task index (an integer from 0), got ${got}`, `restart one task with \`tiffin restart ${name}/0\`, or all with \`tiffin restart ${name}\``);
    const index = parsed.index ?? null;
    const job = m.jobs.get(name)?.value;
    if (!job || job.removedAt !== null) throw notFound(name);
    if (index !== null && !m.tasks.get(name)?.has(index)) {
      throw new TiffinError(ErrorCodes.NotFound, `job ${quoteId(name)} has no task ${index}`, { hint: `see its tasks with \`tiffin status ${cliJob(name)}\`` });
    }
    let outcome: RestartDecision["outcome"] = [];
    await casLoop(ctx, `restart ${name}${index === null ? "" : `/${index}`}`, () => {
      if (index === null) {
        const r = rollingRestartTxn(m, name, ctx.clock.now());
        outcome = r.outcome;
        return r;
      }
      const t = restartTxn(m, name, index, true);
      outcome = t?.outcome ?? [];
      return t;
    });
    ctx.log.info({ job: name, index, outcome }, "tasks restarted");
    const result: RestartResult = { name, tasks: outcome };
    sendJson(res, 200, result);
  });
}
