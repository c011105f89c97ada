// `tiffin exec`: POST /v1/tasks/:job/:index/exec runs a command in the task's running attempt, through
// the agent of its host (host token, like the logs proxy); the agent streams ExecFrame lines, which are
// passed through as they come. Every exec is recorded under /audit/ before it runs and completed with
// its exit status after, so an exec that never finishes (server crash) still leaves its entry.
// GET /v1/audit lists the entries.

import type { ExecFrame } from "../../api/types.ts";
import { cliJob, ErrorCodes, showTask, TiffinError } from "../../model/index.ts";
import { execRequestSchema, parseExecFrame } from "../../api/exec-wire.ts";
import { errorMessageOf } from "../../api/http-errors.ts";
import { plainDial } from "../agent-dial.ts";
import type { ServerContext } from "../context.ts";
import { parseBody } from "../http/bodies.ts";
import { readJsonObject, sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { auditKey, decodeAll, Kinds, Prefix } from "../kinds.ts";
import { execTarget, startAudit } from "./exec-target.ts";
import { notFound } from "./jobs.ts";
import { drained } from "./streams.ts";

/** Registers the exec proxy, the audit log and the usage history of a task. */
export function execRoutes(r: Router, ctx: ServerContext): void {
  const m = ctx.mirror;

  r.add("POST", "/v1/tasks/:job/:index/exec", "admin", async ({ req, res, params, principal }) => {
    const body = await readJsonObject(req, "{\"command\": [\"id\"], \"user\"?: string}");
    const { command, user } = parseBody(execRequestSchema, body, "exec: command must be a non-empty array of strings", "e.g. `tiffin exec web/0 -- id`");
    const t = execTarget(ctx, params);
    const { job, index, attempt, host, token } = t;
    const finish = await startAudit(ctx, t, command, user ?? null, req.socket.remoteAddress ?? null, "output", principal?.actor);

    const abort = new AbortController();
    const closer = { close: () => abort.abort() };
    ctx.streams.add(closer);
    res.on("close", () => abort.abort());
    try {
      let upstream: Response;
      try {
        const dial = ctx.agentDial ?? plainDial();
        upstream = await dial.fetch(attempt.hostId)(dial.url(host.address, `/v1/exec/${encodeURIComponent(attempt.id)}`), {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ command }),
          signal: abort.signal,
        });
      } catch (err) {
        await finish({ error: `agent unreachable: ${(err as Error).message}` });
        throw new TiffinError(ErrorCodes.Unavailable, `cannot reach the agent of host ${host.name} at ${host.address} to exec in ${showTask(job, index)} (${(err as Error).message})`, {
          hint: "the host may be down; `tiffin hosts` shows its status",
        });
      }
      if (upstream.status !== 200 || !upstream.body) {
        const text = await upstream.text();
        // Not an ApiErrorBody: the text as it came.
        const message = errorMessageOf(text) ?? text;
        await finish({ error: message });
        res.writeHead(upstream.status === 200 ? 502 : upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
        res.end(text);
        return;
      }
      res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
      res.flushHeaders();
      let last: ExecFrame | null = null;
      let pending = "";
      const decoder = new TextDecoder();
      try {
        for await (const chunk of upstream.body as AsyncIterable<Uint8Array>) {
          pending += decoder.decode(chunk, { stream: true });
          const lines = pending.split("\n");
          pending = lines.pop() ?? "";
          for (const line of lines) {
            if (line.trim() === "") continue;
            // Checked by the frame schema: a line that is none is relayed as it is (the client judges
            // it) instead of ending the relay (JSON.parse threw) and losing the exit status after it.
            const f = parseExecFrame(line);
            if (f?.type === "exit" || f?.type === "error") last = f;
          }
          if (!res.write(chunk)) await drained(res);
        }
      } catch (err) {
        if (!abort.signal.aborted) ctx.log.warn({ err, job, index }, "exec stream from agent ended with an error");
      }
      res.end();
      if (last?.type === "exit") await finish({ exitCode: last.code, signal: last.signal });
      else if (last?.type === "error") await finish({ error: last.message });
      else await finish({ error: abort.signal.aborted ? "the client went away before the command ended" : "the agent's stream ended without an exit status" });
    } finally {
      ctx.streams.delete(closer);
    }
  });

  r.add("GET", "/v1/tasks/:job/:index/usage", "admin", async ({ res, params }) => {
    const job = params["job"] ?? "";
    const index = Number(params["index"]);
    if (!m.jobs.has(job)) throw notFound(job);
    if (!Number.isInteger(index) || !m.tasks.get(job)?.has(index)) throw new TiffinError(ErrorCodes.NotFound, `task ${showTask(job, params["index"] ?? "")} not found`, { hint: `see the job's tasks with \`tiffin status ${cliJob(job)}\`` });
    sendJson(res, 200, (await ctx.usage?.of(job, index)) ?? []);
  });

  r.add("GET", "/v1/audit", "admin", async ({ res, url }) => {
    const limitText = url.searchParams.get("limit");
    const limit = limitText === null ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1) throw new TiffinError(ErrorCodes.BadRequest, `limit must be a whole number >= 1, got ${JSON.stringify(limitText)}`);
    const sinceText = url.searchParams.get("since");
    const since = sinceText === null ? 0 : Number(sinceText);
    if (!Number.isSafeInteger(since) || since < 0) throw new TiffinError(ErrorCodes.BadRequest, `since must be epoch milliseconds, got ${JSON.stringify(sinceText)}`, { hint: "e.g. since=1767225600000" });
    const { kvs } = await ctx.store.range(Prefix.audit);
    // Keys start with the entry's time, zero-padded: a key at or after `since` sorts at or after this one.
    const from = auditKey(since, "");
    sendJson(res, 200, decodeAll(Kinds.audit, kvs.filter((kv) => kv.key >= from).slice(-limit), ctx.log));
  });
}
