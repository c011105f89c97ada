// `tiffin exec` with stdin and a terminal: `POST /v1/tasks/:job/:index/exec?command=...` with `Upgrade:
// tiffin-exec.v1` (src/api/exec-wire.ts). The server authorizes (admin token), writes the audit entry,
// opens the same upgrade to the task's agent (host token), and once the agent switched, switches too and
// relays the bytes both ways untouched; it reads the agent's frames only to complete the audit entry.

import type { Duplex } from "node:stream";
import type { ExecFrame } from "../../api/types.ts";
import { execQuery, execUpgradeProtocol, LineSplitter, parseExecFrame, parseExecQuery } from "../../api/exec-wire.ts";
import { requestUpgrade } from "../../api/exec-upgrade.ts";
import { errorMessageOf } from "../../api/http-errors.ts";
import type { UpgradeResult } from "../../api/exec-upgrade.ts";
import { ErrorCodes, TiffinError } from "../../model/index.ts";
import { plainDial } from "../agent-dial.ts";
import type { ServerContext } from "../context.ts";
import type { Router } from "../http/router.ts";
import { execTarget, startAudit } from "./exec-target.ts";

/** How long the agent may take to start the command (after that the session has no time limit). */
const agentAnswerMs = 10_000;

/** Registers the interactive exec session. */
export function execSessionRoutes(r: Router, ctx: ServerContext): void {
  r.upgrade("POST", "/v1/tasks/:job/:index/exec", "admin", async ({ req, socket, head, params, url, principal }) => {
    if (req.headers.upgrade?.toLowerCase() !== execUpgradeProtocol) {
      throw new TiffinError(ErrorCodes.BadRequest, `exec: unknown upgrade ${JSON.stringify(req.headers.upgrade)}`, { hint: `ask for \`Upgrade: ${execUpgradeProtocol}\`` });
    }
    const parsed = parseExecQuery(url.searchParams);
    if (!parsed.ok) throw new TiffinError(ErrorCodes.BadRequest, parsed.problem, { hint: "e.g. `tiffin exec web/0 -- id`" });
    const sr = parsed.request;
    const t = execTarget(ctx, params);
    const finish = await startAudit(ctx, t, sr.command, sr.user ?? null, req.socket.remoteAddress ?? null, sr.tty ? "tty" : "stdin", principal?.actor);

    let up: UpgradeResult;
    try {
      const dial = ctx.agentDial ?? plainDial();
      up = await requestUpgrade(dial.url(t.host.address, `/v1/exec/${encodeURIComponent(t.attempt.id)}?${execQuery(sr, false)}`), `Bearer ${t.token}`, agentAnswerMs, null, null, dial.requestOptions(t.attempt.hostId));
    } catch (err) {
      await finish({ error: `agent unreachable: ${(err as Error).message}` });
      throw new TiffinError(ErrorCodes.Unavailable, `cannot reach the agent of host ${t.host.name} at ${t.host.address} to exec in ${t.job}/${t.index} (${(err as Error).message})`, {
        hint: "the host may be down; `tiffin hosts` shows its status",
      });
    }
    if (up.kind === "response") {
      // Not an ApiErrorBody: the text as it came.
      const message = errorMessageOf(up.body) ?? up.body;
      await finish({ error: message });
      const status = up.status === 101 || up.status < 400 ? 502 : up.status;
      socket.end(`HTTP/1.1 ${status} ${up.statusText || "Error"}\r\ncontent-type: ${up.contentType ?? "application/json"}\r\ncontent-length: ${Buffer.byteLength(up.body)}\r\nconnection: close\r\n\r\n${up.body}`);
      return status;
    }

    const agent = up.socket;
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${execUpgradeProtocol}\r\n\r\n`);
    relay(ctx, socket, head, agent, up.head, finish);
    return 101;
  });
}

/** Pipes client <-> agent until either side ends, then completes the audit entry from the last frame. */
function relay(ctx: ServerContext, client: Duplex, clientHead: Buffer, agent: Duplex, agentHead: Buffer, finish: (p: { exitCode?: number | null; signal?: string | null; error?: string | null }) => Promise<void>): void {
  let last: ExecFrame | null = null;
  const lines = new LineSplitter();
  const watch = (chunk: Buffer): void => {
    for (const line of lines.push(chunk)) {
      const f = parseExecFrame(line);
      if (f && (f.type === "exit" || f.type === "error")) last = f;
    }
  };
  agent.on("error", () => undefined);
  if (agentHead.length > 0) {
    watch(agentHead);
    client.write(agentHead);
  }
  if (clientHead.length > 0) agent.write(clientHead);
  agent.on("data", watch);
  agent.pipe(client);
  client.pipe(agent);
  let clientGone = false;
  client.once("close", () => {
    clientGone = true;
    agent.destroy();
  });
  const closer = { close: () => (client.destroy(), agent.destroy()) };
  ctx.streams.add(closer);
  agent.once("close", () => {
    ctx.streams.delete(closer);
    // The agent ends its side after the exit frame; the client then closes ours.
    client.end();
    const f = last as ExecFrame | null;
    const done = f?.type === "exit" ? finish({ exitCode: f.code, signal: f.signal }) : f?.type === "error" ? finish({ error: f.message }) : finish({ error: clientGone ? "the client went away before the command ended" : "the agent's stream ended without an exit status" });
    void done;
  });
}
