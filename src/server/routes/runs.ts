// Runs of batch jobs (issue 18): start one (`tiffin run`, or a dispatch with parameters and an
// idempotency key), list a job's runs, show one, cancel one. The runs themselves are driven by the
// leader's reconcile pass (reconcile/batch-decide.ts); these routes only write run records.

import { createHash } from "node:crypto";
import { z } from "zod";
import { cliJob, DefaultNamespace, ErrorCodes, isRunOver, MaxParamChars, namespaceOfId, newRun, quoteId, splitJobId, TiffinError } from "../../model/index.ts";
import type { Run } from "../../model/index.ts";
import { casLoop } from "../context.ts";
import type { ServerContext } from "../context.ts";
import { parseBody } from "../http/bodies.ts";
import { readJsonObject, sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { runKey } from "../kinds.ts";
import type { Mirror } from "../mirror.ts";
import { attemptId } from "../reconcile/inputs.ts";
import { runById, runsOf, runWrites, withUpstream } from "../run-store.ts";
import { apiJobOf } from "./job-scope.ts";
import { notFound } from "./jobs.ts";

/** Dispatch parameter names: handed over as TIFFIN_PARAM_<NAME> (upper-cased), so env-safe. */
export const paramNamePattern = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** What `POST /v1/jobs/:name/runs` takes: parameters for the tasks and an idempotency key, both optional. */
export const runBody = z.strictObject({
  params: z.record(z.string().regex(paramNamePattern, { error: "parameter names are letters, digits and _, not starting with a digit, at most 64" }), z.string().max(MaxParamChars, { error: `a parameter is at most ${MaxParamChars} characters` }).refine((v) => !v.includes("\0"), { error: "a parameter may not contain NUL" })).optional(),
  key: z.string().min(1).max(256).optional(),
});

/** The run id of a keyed start: the same key always names the same run, so a second start finds it. */
export function keyedRunId(key: string): string {
  return `k${createHash("sha256").update(key).digest("hex").slice(0, 20)}`;
}

/** The batch job `name`, or a 404 / 409 saying why it cannot run. */
function batchJob(m: Mirror, name: string): { version: number } {
  const job = m.jobs.get(name)?.value;
  if (!job) throw notFound(name);
  if (job.removedAt !== null) throw new TiffinError(ErrorCodes.Conflict, `job ${quoteId(name)} was removed`, { hint: "apply it again to run it" });
  const spec = m.spec(name, job.version)?.spec;
  if (!spec?.batch) throw new TiffinError(ErrorCodes.Conflict, `job ${quoteId(name)} is a service, not a batch job: it runs all the time`, { hint: "give it a `batch: { ... }` part to run it to completion with `tiffin run`" });
  return { version: job.version };
}

function runOf(m: Mirror, job: string, id: string): Run {
  const r = runById(m, job, id);
  if (!r) throw new TiffinError(ErrorCodes.NotFound, `run ${splitJobId(job).name}/${id}${namespaceOfId(job) === DefaultNamespace ? "" : ` (namespace ${namespaceOfId(job)})`} not found`, { hint: `list the job's runs with \`tiffin runs ${cliJob(job)}\` (finished runs beyond its batch.keep are deleted)` });
  return r;
}

/** Registers the run routes. */
export function runRoutes(r: Router, ctx: ServerContext): void {
  const m = ctx.mirror;
  r.add("POST", "/v1/jobs/:name/runs", "admin", async ({ req, res, params }) => {
    const name = params["name"] ?? "";
    const body = parseBody(runBody, await readJsonObject(req, '{"params": {...}, "key": "..."}'), `run of job ${quoteId(name)}: the body does not fit`, 'send {} or {"params": {"NAME": "value"}, "key": "an idempotency key"}');
    const { version } = batchJob(m, name);
    const now = ctx.clock.now();
    const id = body.key !== undefined ? keyedRunId(body.key) : attemptId(now);
    const key = runKey(name, id);
    let created = false;
    await casLoop(ctx, `run of ${name}`, () => {
      // The same key again: the run it started (whatever its parameters were).
      if (m.runs.get(name)?.has(id)) return null;
      const spec = m.spec(name, version)?.spec;
      if (!spec?.batch) return null;
      const run = withUpstream(m, newRun({ job: name, id, version, policy: spec.batch, cause: body.key !== undefined || body.params !== undefined ? "dispatch" : "manual", now, params: body.params ?? {} }), spec.batch);
      created = true;
      // Created only if absent: the same key from two clients at once makes one run.
      const w = runWrites(m, null, run);
      return { compare: [{ key, target: "modRevision", op: "==", value: 0 }, ...w.compare.filter((c) => c.key !== key)], success: w.success };
    });
    ctx.log.info({ job: name, run: id, created }, "run started");
    sendJson(res, created ? 201 : 200, apiJobOf(runOf(m, name, id)));
  });
  r.add("GET", "/v1/jobs/:name/runs", "admin", async ({ res, params }) => {
    const name = params["name"] ?? "";
    if (!m.jobs.has(name)) throw notFound(name);
    sendJson(res, 200, runsOf(m, name).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)).map(apiJobOf));
  });
  r.add("GET", "/v1/runs/:job/:id", "admin", async ({ res, params }) => {
    sendJson(res, 200, apiJobOf(runOf(m, params["job"] ?? "", params["id"] ?? "")));
  });
  r.add("POST", "/v1/runs/:job/:id/cancel", "admin", async ({ res, params }) => {
    const job = params["job"] ?? "";
    const id = params["id"] ?? "";
    await casLoop(ctx, `cancel of run ${job}/${id}`, () => {
      const cur = runOf(m, job, id);
      if (isRunOver(cur.state)) return null;
      const now = ctx.clock.now();
      const next: Run = { ...cur, state: "cancelled", reason: "cancelled by a user", endedAt: now, items: cur.items.map((it) => (it.state === "pending" ? { ...it, state: "cancelled" } : it)) };
      return runWrites(m, cur, next);
    });
    sendJson(res, 200, apiJobOf(runOf(m, job, id)));
  });
}
