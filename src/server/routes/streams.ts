// Streaming endpoint for users: task logs, proxied from the host's agent (store changes: watch.ts).

import type { ServerResponse } from "node:http";
import { errorMessageOf } from "../../api/http-errors.ts";
import { cliJob, ErrorCodes, showTask, TiffinError } from "../../model/index.ts";
import type { Attempt } from "../../model/index.ts";
import { plainDial } from "../agent-dial.ts";
import type { ServerContext } from "../context.ts";
import type { Router } from "../http/router.ts";
import { notFound } from "./jobs.ts";

/** Registers the logs proxy. */
export function streamRoutes(r: Router, ctx: ServerContext): void {
  const m = ctx.mirror;

  r.add("GET", "/v1/tasks/:job/:index/logs", "admin", async ({ req, res, params, url }) => {
    const job = params["job"] ?? "";
    const index = Number(params["index"]);
    if (!m.jobs.has(job)) throw notFound(job);
    const task = Number.isInteger(index) ? m.tasks.get(job)?.get(index)?.value : undefined;
    const attempts = Number.isInteger(index) ? m.attemptsOf(job, index).sort((a, b) => b.createdAt - a.createdAt) : [];
    // A batch item's task is deleted when its attempt ends; its attempts (and their logs) stay with its run.
    if (!task && attempts.length === 0) throw new TiffinError(ErrorCodes.NotFound, `task ${showTask(job, params["index"] ?? "")} not found`, { hint: `see the job's tasks with \`tiffin status ${cliJob(job)}\`, a batch job's runs with \`tiffin runs ${cliJob(job)}\`` });
    const all = url.searchParams.get("all") === "1" || url.searchParams.get("all") === "true";
    const sinceText = url.searchParams.get("since");
    const since = sinceText === null ? null : Number(sinceText);
    if (since !== null && !(Number.isSafeInteger(since) && since >= 0)) throw new TiffinError(ErrorCodes.BadRequest, `since must be epoch ms, got ${JSON.stringify(sinceText)}`, { hint: "`tiffin logs --since 10m` computes it" });
    let chosen: Attempt[];
    if (all) {
      // Oldest first; attempts that ended before `since` have nothing to show.
      chosen = attempts.filter((a) => since === null || a.endedAt === null || a.endedAt >= since).reverse();
      if (chosen.length === 0) throw new TiffinError(ErrorCodes.NotFound, `task ${showTask(job, index)} has no attempts${since === null ? "" : " since then"}`, { hint: "the attempt ids are listed by `tiffin status`" });
    } else {
      const wanted = url.searchParams.get("attempt") ?? task?.attemptId ?? attempts[0]?.id ?? null;
      const attempt = attempts.find((a) => a.id === wanted);
      if (!attempt) throw new TiffinError(ErrorCodes.NotFound, wanted ? `task ${showTask(job, index)} has no attempt ${wanted}` : `task ${showTask(job, index)} has not started yet`, { hint: "the attempt ids are listed by `tiffin status`" });
      chosen = [attempt];
    }

    const abort = new AbortController();
    const closer = { close: () => abort.abort() };
    ctx.streams.add(closer);
    req.on("close", () => abort.abort());
    res.on("close", () => abort.abort());
    try {
      for (const [i, attempt] of chosen.entries()) {
        const last = i === chosen.length - 1;
        const q = new URLSearchParams();
        q.set("stream", url.searchParams.get("stream") ?? "stdout");
        for (const k of ["tail", "grep", "since"]) {
          const v = url.searchParams.get(k);
          if (v !== null) q.set(k, v);
        }
        // Only the newest attempt can still grow.
        const follow = url.searchParams.get("follow");
        if (follow !== null && last) q.set("follow", follow);
        const upstream = await fromAgent(ctx, attempt, `${job}/${index}`, q, abort.signal, !all);
        if (!all) {
          res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "text/plain; charset=utf-8", "cache-control": "no-cache" });
          res.flushHeaders();
        } else {
          if (i === 0) {
            res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache" });
            res.flushHeaders();
          }
          const started = attempt.startedAt === null ? "never started" : `started ${new Date(attempt.startedAt).toISOString()}`;
          res.write(`==> attempt ${attempt.id} (${attempt.state}, ${started}) <==\n`);
          if (upstream.status !== 200) {
            res.write(`[tiffin: ${await upstreamMessage(upstream)}]\n`);
            continue;
          }
        }
        if (!upstream.body) continue;
        // A loop, not stream.pipeline with end: false: that leaves listeners on `res` per attempt.
        try {
          for await (const chunk of upstream.body as AsyncIterable<Uint8Array>) {
            if (!res.write(chunk)) await drained(res);
            if (abort.signal.aborted) break;
          }
        } catch (err) {
          if (!abort.signal.aborted) ctx.log.warn({ err, job, index }, "log stream from agent ended with an error");
        }
        if (abort.signal.aborted) break;
      }
      if (!res.headersSent) res.writeHead(200);
      res.end();
    } finally {
      ctx.streams.delete(closer);
    }
  });
}

/** The agent's response for one attempt's logs; for several attempts, a lost host is a response, not an error. */
async function fromAgent(ctx: ServerContext, attempt: Attempt, task: string, q: URLSearchParams, signal: AbortSignal, strict: boolean): Promise<Response> {
  const host = ctx.mirror.hosts.get(attempt.hostId)?.value;
  const token = ctx.mirror.hostTokens.get(attempt.hostId);
  if (!host || !token) {
    if (!strict) return new Response(JSON.stringify({ error: { message: `its logs went with host ${attempt.hostId}` } }), { status: 404 });
    throw new TiffinError(ErrorCodes.NotFound, `host ${attempt.hostId} of attempt ${attempt.id} is not registered`, { hint: "its logs went with the host" });
  }
  try {
    const dial = ctx.agentDial ?? plainDial();
    return await dial.fetch(attempt.hostId)(dial.url(host.address, `/v1/logs/${encodeURIComponent(attempt.id)}?${q.toString()}`), { headers: { authorization: `Bearer ${token}` }, signal });
  } catch (err) {
    if (!strict) return new Response(JSON.stringify({ error: { message: `cannot reach the agent of host ${host.name} (${(err as Error).message})` } }), { status: 503 });
    throw new TiffinError(ErrorCodes.Unavailable, `cannot reach the agent of host ${host.name} at ${host.address} for the logs of ${task} (${(err as Error).message})`, {
      hint: "the host may be down; `tiffin hosts` shows its status",
    });
  }
}

/** Resolves when `res` can take more, or has closed. */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise<void>((ok) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      ok();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

async function upstreamMessage(r: Response): Promise<string> {
  const text = await r.text().catch(() => "");
  return errorMessageOf(text) ?? (text.trim() || `HTTP ${r.status}`);
}
