// `POST /v1/exec/:attemptId` on the agent's endpoint (next to the logs): runs a command in a running
// attempt's sandbox with the runtime's exec (`crun exec ID CMD...`; the container's env, cwd, user and
// namespaces), or for isolation "none" on the host in the task's work dir with its environment. Only the
// server (host token) calls it; it authorizes the user and keeps the audit log. This plain POST has no
// terminal and no stdin: output is streamed as ExecFrame lines (application/x-ndjson), the exit status
// last. The same path with an HTTP upgrade is the interactive session (exec-session.ts).

import { spawn } from "node:child_process";
import fs from "node:fs";
import type http from "node:http";
import type { Logger } from "pino";
import { execRequestSchema } from "../api/exec-wire.ts";
import type { ExecFrame } from "../api/types.ts";
import { parseHelperConfig } from "../helper/config.ts";
import { helperPaths } from "../helper/paths.ts";
import { containerId } from "../helper/sandbox.ts";
import { execArgv, runtimeEnv } from "../helper/sandbox-runtime.ts";
import { isFinalStatus, readStatusFile } from "../helper/status.ts";
import type { ErrorCode } from "../model/index.ts";
import { ErrorCodes } from "../model/index.ts";

/** An exec the endpoint refuses before running anything. */
export interface ExecRefusal {
  status: number;
  code: ErrorCode;
  message: string;
  hint: string | null;
}

/** What to spawn for an exec. */
export interface ExecPlan {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** Through the runtime's exec (in the sandbox), not on the host. */
  sandboxed: boolean;
  /** Who it runs as on the host: the task's user (HelperConfig.runAs), never more than the task has.
   * Absent: the agent's user (sandboxed: the runtime's exec picks the task's user; or a task run as it). */
  user?: { uid: number; gid: number };
}

/**
 * What to spawn for an exec in attempt directory `dir`, or why not (pure apart from reading the files).
 * `tty` asks the runtime for a terminal inside the sandbox (the caller wraps the plan in one, see
 * exec-tty.ts) and sets TERM to `term`.
 */
export function execPlan(dir: string, command: unknown, opts: { tty?: boolean; term?: string | null; cols?: number | null; rows?: number | null } = {}): ExecPlan | ExecRefusal {
  const checked = execRequestSchema.shape.command.safeParse(command);
  if (!checked.success) {
    return { status: 400, code: ErrorCodes.BadRequest, message: "exec: command must be a non-empty array of strings", hint: "e.g. {\"command\": [\"id\"]}" };
  }
  const p = helperPaths(dir);
  let cfgText: string;
  try {
    cfgText = fs.readFileSync(p.config, "utf8");
  } catch {
    return { status: 404, code: ErrorCodes.NotFound, message: `exec: the attempt is not on this host (${dir})`, hint: "its directory may have been cleaned up" };
  }
  let json: unknown;
  try {
    json = JSON.parse(cfgText);
  } catch {
    json = null;
  }
  const parsed = parseHelperConfig(json);
  if (!parsed.ok) return { status: 409, code: ErrorCodes.Conflict, message: `exec: unreadable attempt.json: ${parsed.problems.join("; ")}`, hint: null };
  const cfg = parsed.config;
  const status = readStatusFile(p.status);
  if (!status || status.pid === null || isFinalStatus(status) || status.state === "starting") {
    return {
      status: 409,
      code: ErrorCodes.Conflict,
      message: `exec: attempt ${cfg.attemptId} is not running (${status?.state ?? "no status yet"})`,
      hint: "exec works while the task runs; `tiffin status JOB` shows its state",
    };
  }
  const args = checked.data;
  const term = opts.term ?? null;
  if (cfg.sandbox) {
    // crun 1.8 replaces the container's environment by the `--env`s given (runc adds them): all again.
    const env = term === null ? [] : Object.entries({ ...cfg.env, TERM: term }).flatMap(([k, v]) => ["--env", `${k}=${v}`]);
    const tty = opts.tty ? ["--tty", ...env] : [];
    // As the task's own user, not the runtime's default (root in the container): exec must not give
    // more than the task has (the container's capabilities, seccomp and no_new_privs apply as well).
    // The inner terminal crun makes gets its size from the outer one a moment after the command has
    // started (a command that asks at once read 0 x 0 in 1 of ~10 runs): the command sets it itself first.
    const sized = opts.tty && opts.cols != null && opts.rows != null ? ["/bin/sh", "-c", 'stty cols "$1" rows "$2" 2>/dev/null; shift 2; exec "$@"', "sh", String(opts.cols), String(opts.rows), ...args] : args;
    return { argv: execArgv(cfg.sandbox, containerId(cfg.attemptId, p.dir), sized, tty), env: runtimeEnv(), cwd: "/", sandboxed: true };
  }
  // The task's own environment as it runs (its secret env vars are in no file: secrets-dir.ts), read
  // from its init's /proc entry; attempt.json's env if that cannot be read.
  const taskEnv = procEnviron(status.pid) ?? { ...cfg.env, ...(cfg.runAs && cfg.env["HOME"] === undefined ? { HOME: p.work } : {}) };
  const env = { ...taskEnv, ...(opts.tty && term !== null ? { TERM: term } : {}) };
  return { argv: args, env, cwd: p.work, sandboxed: false, ...(cfg.runAs ? { user: { ...cfg.runAs } } : {}) };
}

/** The environment of process `pid` (/proc/PID/environ), or null when it cannot be read. */
function procEnviron(pid: number): Record<string, string> | null {
  try {
    const out: Record<string, string> = {};
    for (const kv of fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
      const i = kv.indexOf("=");
      if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return Object.keys(out).length > 0 ? out : null;
  } catch {
    return null;
  }
}

/** Runs the planned command and streams its frames to `res` (headers already checked); kills it when the caller goes. */
export function runExec(plan: ExecPlan, res: http.ServerResponse, log: Logger): Promise<void> {
  res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
  res.flushHeaders();
  const send = (f: ExecFrame): void => void res.write(JSON.stringify(f) + "\n");
  const [file, ...args] = plan.argv;
  return new Promise((resolve) => {
    // Its own process group, so a caller that goes away stops everything the command started (a shell's
    // children too: killing the shell alone left them running, holding the output pipe open).
    const child = spawn(file ?? "", args, { cwd: plan.cwd, env: plan.env, stdio: ["ignore", "pipe", "pipe"], detached: true, ...(plan.user ?? {}) });
    const killGroup = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        child.kill(sig); // the group is gone already: the process alone, if it is still there
      }
    };
    let done = false;
    const finish = (last: ExecFrame): void => {
      if (done) return;
      done = true;
      send(last);
      res.end();
      resolve();
    };
    child.stdout.on("data", (b: Buffer) => send({ type: "stdout", data: b.toString("base64") }));
    child.stderr.on("data", (b: Buffer) => send({ type: "stderr", data: b.toString("base64") }));
    child.once("error", (err) => {
      log.info({ argv: plan.argv, err: err.message }, "exec could not start");
      finish({ type: "error", message: `cannot run ${JSON.stringify(file)}: ${err.message}` });
    });
    // "close" (not "exit"): all output has been read by then.
    child.once("close", (code, signal) => finish({ type: "exit", code, signal }));
    res.once("close", () => {
      if (done || child.exitCode !== null || child.signalCode !== null) return;
      // The caller went away: the runtime passes SIGTERM on to the process it execs; SIGKILL if it stays.
      killGroup("SIGTERM");
      setTimeout(() => child.exitCode === null && child.signalCode === null && killGroup("SIGKILL"), 2000).unref();
    });
  });
}
