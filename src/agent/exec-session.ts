// The interactive exec on the agent: `POST /v1/exec/:attemptId?command=...` with `Upgrade:
// tiffin-exec.v1` (host token; the wire is described in src/api/exec-wire.ts). After the 101 the
// command's stdin is fed from the client's `stdin` frames, its output goes back as ExecFrame lines, and
// the exit status ends the session. With `tty=1` it runs on a pseudo-terminal (exec-tty.ts): stdout and
// stderr are one stream, Ctrl-C is a byte the terminal turns into SIGINT, and the size follows resizes.

import { spawn } from "node:child_process";
import os from "node:os";
import type { Duplex } from "node:stream";
import type http from "node:http";
import type { Logger } from "pino";
import type { ApiErrorBody, ExecFrame } from "../api/types.ts";
import type { ExecInput } from "../api/exec-wire.ts";
import { execUpgradeProtocol, LineSplitter, parseExecInput, parseExecQuery } from "../api/exec-wire.ts";
import type { ErrorCode } from "../model/index.ts";
import { ErrorCodes } from "../model/index.ts";
import type { ExecPlan } from "./exec-endpoint.ts";
import { execPlan } from "./exec-endpoint.ts";
import { findScript, resizeTree, ttyArgv, ttyReadyMarker } from "./exec-tty.ts";
import { bearerMatches } from "./bearer.ts";

/** What the upgrade handler needs from the agent (a subset of the logs endpoint's options). */
export interface ExecSessionOptions {
  token: () => string | null;
  attemptDir: (attemptId: string) => string;
  log: Logger;
}

/** Writes a plain HTTP error response on a socket that was not upgraded, and closes it; returns the status. */
export function refuseUpgrade(socket: Duplex, status: number, code: ErrorCode, message: string, hint: string | null = null): number {
  const body = JSON.stringify({ error: { code, message, hint, problems: [] } } satisfies ApiErrorBody);
  socket.end(`HTTP/1.1 ${status} ${status === 401 ? "Unauthorized" : "Error"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  return status;
}

/** Handles an upgrade request on the agent's endpoint; resolves with the status answered (101 once the
 * session has ended) and never rejects. */
export async function handleExecUpgrade(o: ExecSessionOptions, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<number> {
  socket.on("error", () => undefined);
  const url = new URL(req.url ?? "/", "http://agent");
  const m = /^\/v1\/exec\/([A-Za-z0-9._-]+)$/.exec(url.pathname);
  if (req.method !== "POST" || !m || req.headers.upgrade?.toLowerCase() !== execUpgradeProtocol) {
    return refuseUpgrade(socket, 404, ErrorCodes.NotFound, `no such upgrade: ${req.method} ${url.pathname} (${req.headers.upgrade})`);
  }
  const token = o.token();
  if (!bearerMatches(req.headers.authorization, token)) {
    return refuseUpgrade(socket, 401, ErrorCodes.Unauthorized, "agent endpoint: missing or wrong host token", "only the Tiffin server runs exec through agents");
  }
  const attemptId = m[1] ?? "";
  if (attemptId === "." || attemptId === "..") return refuseUpgrade(socket, 404, ErrorCodes.NotFound, `attempt ${attemptId} is not on this host`);
  const parsed = parseExecQuery(url.searchParams);
  if (!parsed.ok) return refuseUpgrade(socket, 400, ErrorCodes.BadRequest, parsed.problem);
  const r = parsed.request;
  const plan = execPlan(o.attemptDir(attemptId), r.command, { tty: r.tty === true, term: r.term, cols: r.cols, rows: r.rows });
  if ("status" in plan) return refuseUpgrade(socket, plan.status, plan.code, plan.message, plan.hint);
  let run = plan;
  if (r.tty) {
    const script = findScript();
    if (script === null) return refuseUpgrade(socket, 409, ErrorCodes.Conflict, "exec: no `script` (util-linux) on this host to make a terminal", "install util-linux (bsdutils), or run without -t");
    run = { ...plan, argv: ttyArgv(script, plan.argv, r.cols, r.rows, plan.sandboxed), env: { ...plan.env, SHELL: "/bin/sh" } };
  }
  o.log.info({ attemptId, command: r.command, tty: r.tty === true }, "exec session");
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${execUpgradeProtocol}\r\n\r\n`);
  await runSession(run, r.tty === true, socket, head, o.log);
  return 101;
}

/** Runs the command, relaying frames both ways, until it exits or the socket goes (which kills it). */
export function runSession(plan: ExecPlan, tty: boolean, socket: Duplex, head: Buffer, log: Logger): Promise<void> {
  const [file, ...args] = plan.argv;
  return new Promise((resolve) => {
    const child = spawn(file ?? "", args, { cwd: plan.cwd, env: plan.env, stdio: ["pipe", "pipe", "pipe"], ...(plan.user ?? {}) });
    let done = false;
    const send = (f: ExecFrame): boolean => socket.writable && socket.write(JSON.stringify(f) + "\n");
    const finish = (last: ExecFrame): void => {
      if (done) return;
      done = true;
      send(last);
      socket.end();
      resolve();
    };
    // Back-pressure both ways: a slow client pauses the command's output, a slow command the input.
    const output = (type: "stdout" | "stderr") => (b: Buffer) => {
      if (!send({ type, data: b.toString("base64") })) {
        child.stdout.pause();
        child.stderr.pause();
        socket.once("drain", () => (child.stdout.resume(), child.stderr.resume()));
      }
    };
    // With a terminal, input waits for the ready marker (exec-tty.ts), which is not passed on.
    let held: ExecInput[] | null = tty ? [] : null;
    let early = "";
    const out = output("stdout");
    child.stdout.on("data", (b: Buffer) => {
      if (held === null) return out(b);
      early += b.toString("latin1");
      const at = early.indexOf(ttyReadyMarker);
      if (at < 0) return;
      const before = Buffer.from(early.slice(0, at), "latin1");
      const after = Buffer.from(early.slice(at + ttyReadyMarker.length), "latin1");
      const queue = held;
      held = null;
      early = "";
      if (before.length > 0) out(before);
      if (after.length > 0) out(after);
      queue.forEach((f) => onInput(f));
    });
    child.stderr.on("data", output("stderr"));
    child.stdin.on("error", () => undefined); // the command may exit without reading all of it
    child.once("error", (err) => {
      log.info({ argv: plan.argv, err: err.message }, "exec could not start");
      finish({ type: "error", message: `cannot run ${JSON.stringify(file)}: ${err.message}` });
    });
    child.once("close", (code, signal) => finish({ type: "exit", code, signal }));

    const lines = new LineSplitter();
    const input = (chunk: Buffer): void => {
      for (const line of lines.push(chunk)) {
        const f = parseExecInput(line);
        if (f === null) continue;
        onInput(f);
      }
    };
    const onInput = (f: ExecInput): void => {
      if (held !== null) return void held.push(f);
      switch (f.type) {
        case "stdin":
          if (child.stdin.writable && !child.stdin.write(Buffer.from(f.data, "base64"))) {
            socket.pause();
            child.stdin.once("drain", () => socket.resume());
          }
          return;
        case "eof":
          // On a terminal, end of input is the EOF character (what ^D sends); script never closes the pty.
          if (tty) child.stdin.write("\x04");
          else child.stdin.end();
          return;
        case "resize":
          if (tty && child.pid !== undefined && Number.isInteger(f.cols) && Number.isInteger(f.rows) && f.cols > 0 && f.rows > 0) {
            resizeTree(child.pid, f.cols, f.rows).catch((err: unknown) => log.debug({ err }, "exec resize failed"));
          }
          return;
        case "signal": {
          if (!(f.signal in os.constants.signals) || done) return;
          // The runtime's exec passes signals on to the command; on a terminal the line discipline does.
          const key = tty ? ({ SIGINT: "\x03", SIGQUIT: "\x1c" } as Record<string, string>)[f.signal] : undefined;
          if (key !== undefined) child.stdin.write(key);
          else child.kill(f.signal as NodeJS.Signals);
          return;
        }
      }
    };
    if (head.length > 0) input(head);
    socket.on("data", input);
    socket.once("close", () => {
      if (done || child.exitCode !== null || child.signalCode !== null) return;
      // The caller went away: SIGTERM (the runtime passes it on), SIGKILL if it stays.
      child.kill("SIGTERM");
      setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"), 2000).unref();
    });
  });
}
