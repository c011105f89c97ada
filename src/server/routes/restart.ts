// `POST /v1/jobs/:name/restart {index?}`: restart a job's tasks (or one): parked tasks are released
// and placed afresh, live ones get a new attempt where they are (reconcile/restart-task.ts decides).

import type { RestartResult } from "../../api/types.ts";
import { z } from "zod";
import { ErrorCodes, TiffinError, valueAt } from "../../model/index.ts";
import { casLoop } from "../context.ts";
import type { ServerContext } from "../context.ts";
import { parseBody } from "../http/bodies.ts";
import { readJson, sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import type { RestartDecision } from "../reconcile/restart-task.ts";
import { notFound } from "./jobs.ts";
import { restartTxn } from "./restart-txn.ts";

/** `{index?}`: one task, or (absent or null) every task of the job. */
/** `POST /v1/jobs/:name/restart`. */
export const restartBody = z.object({ index: z.number().int().min(0).nullable().exactOptional() });

/** Registers the restart route. */
export function restartRoutes(r: Router, ctx: ServerContext): void {
  const m = ctx.mirror;
  r.add("POST", "/v1/jobs/:name/restart", "admin", async ({ req, res, params }) => {
    const name = params["name"] ?? "";
    const body: unknown = (await readJson(req)) ?? {};
    const got = JSON.stringify(valueAt(body, ["index"]) ?? body);
    const parsed = parseBody(restartBody, body, `index must be a task index (an integer from 0), got ${got}`, `restart one task with \`tiffin restart ${name}/0\`, or all with \`tiffin restart ${name}\``);
    const index = parsed.index ?? null;
    const job = m.jobs.get(name)?.value;
    if (!job || job.removedAt !== null) throw notFound(name);
    if (index !== null && !m.tasks.get(name)?.has(index)) {
      throw new TiffinError(ErrorCodes.NotFound, `job "${name}" has no task ${index}`, { hint: `see its tasks with \`tiffin status ${name}\`` });
    }
    let outcome: RestartDecision["outcome"] = [];
    await casLoop(ctx, `restart ${name}${index === null ? "" : `/${index}`}`, () => {
      const t = restartTxn(m, name, index, true);
      outcome = t?.outcome ?? [];
      return t;
    });
    ctx.log.info({ job: name, index, outcome }, "tasks restarted");
    const result: RestartResult = { name, tasks: outcome };
    sendJson(res, 200, result);
  });
}
