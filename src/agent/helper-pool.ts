// Which helper process runs a new attempt. With `tasksPerHelper` K = 1 each attempt gets a process of
// its own (`HELPER DIR`), as before. With K > 1 an attempt goes to a shared helper process running the
// same helper command (so the same bundle: an upgraded agent never hands attempts to an older helper,
// whose processes end with their last attempt), over its control socket (../helper/pool.ts), or to a
// new one (`HELPER --pool DATA/helper/pool-ID.sock --max K DIR`, output to DATA/helper/pool-ID.log)
// when none has room. A restarted agent takes back the processes its predecessor started (adopt).
// Node's fixed cost is then paid once per K tasks; the price is that a crash of the process ends all
// of its tasks (src/helper/README.md).

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { PoolReply } from "../helper/protocol-schema.ts";
import { poolReplySchema } from "../helper/protocol-schema.ts";
import { spawnDetached, spawnHelper } from "./helpers.ts";

/** Attempts per helper process by default (`--tasks-per-helper`): bench/RESULTS.md, "Shared helper processes". */
export const DEFAULT_TASKS_PER_HELPER = 8;

/** One shared helper process this agent started or took back. */
interface PoolProcess {
  pid: number;
  socket: string;
  /** The helper command it runs (joined): only attempts for the same command go to it. */
  command: string;
  /** Attempt directories handed to it (or being handed) and not yet released. */
  attempts: Set<string>;
  /** Resolves true once its control socket is up, false when it never came up. */
  ready: Promise<boolean>;
  /** False once it refused, failed to answer or exited: never asked again. */
  usable: boolean;
  /** It said "full" (an ended attempt there still waits for its ack): not asked until one is released. */
  full: boolean;
}

/** Starts helper processes for attempts, K attempts to a process. */
export class HelperPool {
  readonly #dir: string;
  readonly #perProcess: number;
  readonly #procs = new Set<PoolProcess>();
  readonly #askTimeoutMs: number;

  /** `dir`: where control sockets and process logs go (DATA/helper); `perProcess`: K; `askTimeoutMs`:
   * how long a process may take to answer a request (tests shorten it). */
  constructor(dir: string, perProcess: number, askTimeoutMs = 5000) {
    this.#dir = dir;
    this.#perProcess = perProcess;
    this.#askTimeoutMs = askTimeoutMs;
  }

  /** Starts the helper of attempt directory `dir` (written already) with `command`; resolves with the
   * pid of the process that runs it, or why none could. */
  async launch(command: string[], dir: string): Promise<{ pid: number } | { error: string }> {
    if (this.#perProcess <= 1) return spawnHelper(command, dir);
    const key = command.join("\0");
    for (;;) {
      const p = [...this.#procs].find((x) => x.usable && !x.full && x.command === key && x.attempts.size < this.#perProcess);
      if (!p) break;
      p.attempts.add(dir); // the slot is held while we ask
      const reply = (await p.ready) ? await ask(p.socket, dir, this.#askTimeoutMs) : "unreachable";
      if (reply === "no answer") {
        // It may have taken the attempt and be slow to say so: starting another helper for the same
        // directory could run the task twice. The attempt's link finds out (its socket comes up, or
        // it is reported gone after the start timeout); the process gets nothing more.
        p.usable = false;
        this.#procs.delete(p);
        return { pid: p.pid };
      }
      if (reply !== "unreachable" && reply.ok) return { pid: p.pid };
      p.attempts.delete(dir);
      if (reply !== "unreachable" && reply.reason === "full") p.full = true;
      else {
        // closing, or not there: it did not take the attempt, and is never asked again
        p.usable = false;
        this.#procs.delete(p);
      }
    }
    return this.#spawn(command, key, dir);
  }

  /**
   * Takes back a shared process that a previous agent on this data dir started (found running attempt
   * `dir` at adoption): new attempts may go to it, if it runs the very helper command this agent runs
   * (same Node, flags and bundle hash; checked at launch). `argv`: its /proc cmdline.
   */
  adopt(pid: number, argv: string[], dir: string): void {
    const args = argv.filter((a) => a !== "");
    const at = args.lastIndexOf("--pool");
    const socket = args[at + 1];
    if (at < 1 || socket === undefined || at !== args.length - 5) return;
    const known = [...this.#procs].find((p) => p.pid === pid);
    if (known) return void known.attempts.add(dir);
    const command = args.slice(0, at).join("\0");
    this.#procs.add({ pid, socket, command, attempts: new Set([dir]), ready: Promise.resolve(fs.existsSync(socket)), usable: true, full: false });
  }

  /** The attempt of `dir` has ended: its process has one more free slot. */
  release(dir: string): void {
    for (const p of this.#procs) if (p.attempts.delete(dir)) p.full = false;
  }

  /** Shared processes this agent may still hand attempts to, with the attempts it counts there. */
  processes(): { pid: number; attempts: number }[] {
    return [...this.#procs].map((p) => ({ pid: p.pid, attempts: p.attempts.size }));
  }

  /** Starts a process for `dir`; registered before any await, so that starts made meanwhile join it. */
  async #spawn(command: string[], key: string, dir: string): Promise<{ pid: number } | { error: string }> {
    const id = randomBytes(6).toString("hex");
    const socket = path.join(this.#dir, `pool-${id}.sock`);
    let settle: (ok: boolean) => void = () => {};
    const p: PoolProcess = { pid: -1, socket, command: key, attempts: new Set([dir]), ready: new Promise((r) => (settle = r)), usable: true, full: false };
    this.#procs.add(p);
    const gone = (): void => {
      p.usable = false;
      this.#procs.delete(p);
    };
    await fs.promises.mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const spawned = await spawnDetached([...command, "--pool", socket, "--max", String(this.#perProcess), dir], path.join(this.#dir, `pool-${id}.log`), this.#dir, gone);
    if ("error" in spawned) {
      gone();
      settle(false);
      return spawned;
    }
    p.pid = spawned.pid;
    void waitForSocket(socket, spawned.pid).then(settle);
    return spawned;
  }
}

/** Resolves true once `socket` exists (the process listens), false if `pid` died or 15 s passed. */
async function waitForSocket(socket: string, pid: number): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (fs.existsSync(socket)) return true;
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Asks a shared helper process to run the attempt of `dir`: its reply; "unreachable" when the request
 * was never delivered (no socket, refused), "no answer" when it was sent but no reply came (in 5 s, or
 * the connection closed first): then the process may have taken the attempt. */
export function ask(socket: string, dir: string, timeoutMs = 5000): Promise<PoolReply | "unreachable" | "no answer"> {
  return new Promise((resolve) => {
    const s = net.connect(socket);
    let buf = "";
    let sent = false;
    const done = (r: PoolReply | null): void => {
      clearTimeout(t);
      s.destroy();
      resolve(r ?? (sent ? "no answer" : "unreachable"));
    };
    const t = setTimeout(() => done(null), timeoutMs);
    s.setEncoding("utf8");
    s.on("connect", () => {
      sent = true;
      s.write(`${JSON.stringify({ type: "run", dir })}\n`);
    });
    s.on("data", (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      // Not a PoolReply: as good as no answer (the process may have taken the attempt), never a refusal.
      done(parsePoolReply(buf.slice(0, nl)));
    });
    s.on("error", () => done(null));
    s.on("close", () => done(null));
  });
}

/** One reply line checked by poolReplySchema; null when it is not JSON or not a PoolReply. */
function parsePoolReply(line: string): PoolReply | null {
  try {
    const r = poolReplySchema.safeParse(JSON.parse(line));
    return r.success ? r.data : null;
  } catch {
    return null; // not JSON
  }
}
