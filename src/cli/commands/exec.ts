// `tiffin exec [-t|-T] [-n] JOB/INDEX [--] CMD...`: runs a command in a running task's sandbox, through
// the server (which records it in its audit log) and the task's agent, as an upgraded HTTP session
// (src/api/exec-wire.ts). Our stdin goes to the command (ssh-like: `-n` sends none); when our stdin and
// stdout are terminals (or `-t`), the command gets a terminal: ours is put in raw mode, so Ctrl-C, ^Z
// and ^D are keys for the remote terminal, and its size follows ours. Without a terminal, Ctrl-C and
// other signals we get are sent to the command (a third Ctrl-C gives up and disconnects). The command's
// exit code becomes ours (128+n when a signal n ended it, as shells do).

import os from "node:os";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type { Command } from "commander";
import type { ExecSession } from "../../api/node-client.ts";
import type { CliContext } from "../command.ts";
import { usageError } from "../errors.ts";

/** What to run where, and how. */
export interface ExecArgs {
  job: string;
  index: number;
  command: string[];
  /** `-t` true, `-T` false, null: a terminal when ours is one. */
  tty: boolean | null;
  /** False with `-n`: the command's stdin is empty. */
  stdin: boolean;
}

const flagHelp = "flags go before the task: -t (a terminal), -T (none), -n (no stdin)";

/** Parses `[FLAGS] JOB/INDEX [--] CMD...`; flags only before the task, so `ls -t` keeps its `-t`. */
export function parseExecArgs(words: string[]): ExecArgs {
  let tty: boolean | null = null;
  let stdin = true;
  let i = 0;
  for (; i < words.length && (words[i] ?? "").startsWith("-") && words[i] !== "--"; i++) {
    const w = words[i] ?? "";
    if (w === "-t" || w === "--tty") tty = true;
    else if (w === "-T" || w === "--no-tty") tty = false;
    else if (w === "-n" || w === "--no-stdin") stdin = false;
    else if (w === "-i" || w === "--interactive") stdin = true;
    else throw usageError(`unknown exec flag ${w}`, flagHelp);
  }
  if (words[i] === "--") i++;
  const task = words[i] ?? "";
  const m = /^(.+)\/(\d+)$/.exec(task);
  if (!m) throw usageError(task === "" ? "no task given" : `"${task}" is not a task id`, "write JOB/INDEX, e.g. `tiffin exec web/0 -- id`");
  const rest = words.slice(i + 1);
  const cmd = rest[0] === "--" ? rest.slice(1) : rest;
  if (cmd.length === 0) throw usageError("no command to run", "e.g. `tiffin exec web/0 -- cat /proc/1/cmdline`");
  return { job: m[1] ?? "", index: Number(m[2]), command: cmd, tty, stdin };
}

/** Our side of a session: where input comes from and output goes. */
export interface ExecTerminal {
  /** Our stdin, or null for none (`-n`). */
  input: Readable | null;
  out(b: Buffer): void;
  err(b: Buffer): void;
  /** Calls `fn` with our terminal's size when it changes; returns the unsubscribe. */
  onResize?(fn: (cols: number, rows: number) => void): () => void;
  /** Calls `fn` with each signal the process gets; returns the unsubscribe. */
  onSignal?(fn: (signal: NodeJS.Signals) => void): () => void;
}

/** Exit code for an exit frame (128+n for signal n, as shells do). */
export function exitCodeOf(code: number | null, signal: string | null): number {
  return code ?? (signal ? 128 + (os.constants.signals[signal as NodeJS.Signals] ?? 0) : 1);
}

/** Relays a session until the command ends; resolves with the exit code to use. */
export async function runSession(s: ExecSession, t: ExecTerminal, tty: boolean): Promise<number> {
  const offs: (() => void)[] = [];
  const input = t.input;
  if (input === null) s.send({ type: "eof" });
  else {
    const onData = (b: Buffer): void => {
      if (!s.send({ type: "stdin", data: b.toString("base64") })) {
        input.pause();
        void s.drained().then(() => input.resume());
      }
    };
    const onEnd = (): void => void s.send({ type: "eof" });
    input.on("data", onData).once("end", onEnd);
    offs.push(() => (input.off("data", onData).off("end", onEnd), input.pause()));
  }
  if (tty && t.onResize) offs.push(t.onResize((cols, rows) => void s.send({ type: "resize", cols, rows })));
  let interrupts = 0;
  if (t.onSignal) {
    offs.push(
      t.onSignal((signal) => {
        // On a terminal Ctrl-C is a key (raw mode), so a signal here came from elsewhere: end the session.
        if (tty || (signal === "SIGINT" && ++interrupts >= 3)) return s.close();
        s.send({ type: "signal", signal });
      }),
    );
  }
  try {
    for await (const f of s.frames) {
      if (f.type === "stdout") t.out(Buffer.from(f.data, "base64"));
      else if (f.type === "stderr") t.err(Buffer.from(f.data, "base64"));
      else if (f.type === "error") {
        t.err(Buffer.from(`tiffin exec: ${f.message}\n`));
        return 126;
      } else if (f.type === "exit") return exitCodeOf(f.code, f.signal);
    }
    t.err(Buffer.from(tty ? "\r\ntiffin exec: the connection ended without an exit status\r\n" : "tiffin exec: the connection ended without an exit status\n"));
    return 255;
  } finally {
    offs.forEach((off) => off());
    s.close();
  }
}

/** The process's own terminal, stdin and signals. */
function processTerminal(stdin: boolean, out: (b: Buffer) => void, err: (b: Buffer) => void): ExecTerminal {
  return {
    input: stdin ? process.stdin : null,
    out,
    err,
    onResize: (fn) => {
      const h = (): void => fn(process.stdout.columns, process.stdout.rows);
      process.stdout.on("resize", h);
      return () => void process.stdout.off("resize", h);
    },
    onSignal: (fn) => {
      const sigs: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];
      const hs = sigs.map((s) => [s, () => fn(s)] as const);
      hs.forEach(([s, h]) => process.on(s, h));
      return () => hs.forEach(([s, h]) => process.off(s, h));
    },
  };
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("exec")
    .usage("[-t|-T] [-n] JOB/INDEX [--] COMMAND...")
    .argument("<words...>", "JOB/INDEX (e.g. web/0), then the command and its arguments")
    // Our flags come before the task; everything after it belongs to the command (`tiffin exec web/0 ls -t`).
    .allowUnknownOption()
    .description(
      "run a command inside a running task's sandbox, with our stdin, and a terminal when ours is one " +
        "(-t forces one, -T refuses it, -n sends no stdin); recorded in the server's audit log",
    )
    .action(async (words: string[]) => {
      const a = parseExecArgs(words);
      const termIn = process.stdin.isTTY === true;
      const tty = a.tty ?? (termIn && process.stdout.isTTY === true);
      const raw = tty && termIn && a.stdin;
      const session = await ctx.client().execSession(a.job, a.index, {
        command: a.command,
        user: `${os.userInfo().username}@${os.hostname()}`,
        tty,
        // A terminal of size 0x0 (one nobody sized) is an unknown size: the default 80x24 then.
        cols: process.stdout.columns || null,
        rows: process.stdout.rows || null,
        term: ctx.io.env["TERM"] ?? null,
      });
      // Bytes as they come when we can (binary output stays intact); else whole characters through io.
      const outD = new StringDecoder("utf8");
      const errD = new StringDecoder("utf8");
      const out = ctx.io.outBytes ?? ((b: Buffer) => ctx.io.out(outD.write(b)));
      const err = ctx.io.errBytes ?? ((b: Buffer) => ctx.io.err(errD.write(b)));
      if (raw) process.stdin.setRawMode(true);
      try {
        ctx.setExitCode(await runSession(session, processTerminal(a.stdin, out, err), tty));
      } finally {
        if (raw) process.stdin.setRawMode(false);
        // Nothing more to read: let the process end even though stdin is open.
        if (a.stdin) process.stdin.destroy();
        ctx.io.out(outD.end());
        ctx.io.err(errD.end());
      }
    });
}
