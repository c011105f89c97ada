// Streaming endpoints for users: store events (SSE) and task logs (proxied from the host's agent).

import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { ApiErrorBody, StoreEvent } from "../../api/types.ts";
import { ErrorCodes, TiffinError } from "../../model/index.ts";
import { CompactedError } from "../../state/store.ts";
import type { ServerContext } from "../context.ts";
import { startSse } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { Prefix } from "../keys.ts";
import { notFound } from "./jobs.ts";

/** Registers /v1/events and the logs proxy. */
export function streamRoutes(r: Router, ctx: ServerContext): void {
  const m = ctx.mirror;

  r.add("GET", "/v1/events", "admin", async ({ req, res, url }) => {
    const fromText = url.searchParams.get("from");
    const from = fromText === null ? (await ctx.store.revision()) + 1 : Number(fromText);
    if (!Number.isInteger(from) || from < 0) {
      throw new TiffinError(ErrorCodes.BadRequest, `from must be a store revision (an integer >= 0), got "${fromText}"`, { hint: "use the revision an apply returned, or omit it to follow from now" });
    }
    const prefix = url.searchParams.get("prefix") ?? "";
    const sse = startSse(req, res);
    ctx.streams.add(sse);
    const watch = ctx.store.watch(
      prefix,
      Math.max(1, from),
      (events) => {
        for (const ev of events) {
          if (ev.kv.key.startsWith(Prefix.hostTokens) || ev.kv.key.startsWith(Prefix.secrets)) continue; // secrets stay in the store
          const out: StoreEvent = { type: ev.type, key: ev.kv.key, value: ev.type === "delete" ? null : parse(ev.kv.value), revision: ev.revision };
          sse.send("change", out, ev.revision);
        }
      },
      (err) => {
        const message = err instanceof CompactedError ? `revision ${from} is compacted: history starts at ${err.compactRevision}` : `the event stream failed: ${err.message}`;
        const body: ApiErrorBody = { error: { code: ErrorCodes.BadRequest, message, hint: "follow from a newer revision, or omit from", problems: [] } };
        sse.send("error", body);
        sse.close();
      },
    );
    sse.onClose(() => {
      watch.cancel();
      ctx.streams.delete(sse);
    });
  });

  r.add("GET", "/v1/tasks/:job/:index/logs", "admin", async ({ req, res, params, url }) => {
    const job = params["job"] ?? "";
    const index = Number(params["index"]);
    if (!m.jobs.has(job)) throw notFound(job);
    const task = Number.isInteger(index) ? m.tasks.get(job)?.get(index)?.value : undefined;
    if (!task) throw new TiffinError(ErrorCodes.NotFound, `task ${job}/${params["index"]} not found`, { hint: `see the job's tasks with \`tiffin status ${job}\`` });
    const attempts = m.attemptsOf(job, index).sort((a, b) => b.createdAt - a.createdAt);
    const wanted = url.searchParams.get("attempt") ?? task.attemptId ?? attempts[0]?.id ?? null;
    const attempt = attempts.find((a) => a.id === wanted);
    if (!attempt) throw new TiffinError(ErrorCodes.NotFound, wanted ? `task ${job}/${index} has no attempt ${wanted}` : `task ${job}/${index} has not started yet`, { hint: "the attempt ids are listed by `tiffin status`" });
    const host = m.hosts.get(attempt.hostId)?.value;
    const token = m.hostTokens.get(attempt.hostId);
    if (!host || !token) throw new TiffinError(ErrorCodes.NotFound, `host ${attempt.hostId} of attempt ${attempt.id} is not registered`, { hint: "its logs went with the host" });

    const q = new URLSearchParams();
    q.set("stream", url.searchParams.get("stream") ?? "stdout");
    for (const k of ["tail", "follow"]) {
      const v = url.searchParams.get(k);
      if (v !== null) q.set(k, v);
    }
    const abort = new AbortController();
    const closer = { close: () => abort.abort() };
    ctx.streams.add(closer);
    req.on("close", () => abort.abort());
    res.on("close", () => abort.abort());
    try {
      let upstream: Response;
      try {
        upstream = await fetch(`http://${host.address}/v1/logs/${encodeURIComponent(attempt.id)}?${q.toString()}`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
      } catch (err) {
        throw new TiffinError(ErrorCodes.Unavailable, `cannot reach the agent of host ${host.name} at ${host.address} for the logs of ${job}/${index} (${(err as Error).message})`, {
          hint: "the host may be down; `tiffin hosts` shows its status",
        });
      }
      res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "text/plain; charset=utf-8", "cache-control": "no-cache" });
      res.flushHeaders();
      if (!upstream.body) {
        res.end();
        return;
      }
      await pipeline(Readable.fromWeb(upstream.body as WebReadableStream<Uint8Array>), res).catch((err: unknown) => {
        if (!abort.signal.aborted) ctx.log.warn({ err, job, index }, "log stream from agent ended with an error");
      });
    } finally {
      ctx.streams.delete(closer);
    }
  });
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
