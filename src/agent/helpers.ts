// The agent's side of ../helper/protocol.ts: attempt directories, starting helpers detached (their own
// session, so they and their tasks outlive the agent), and the socket link that pings a helper and
// hears its statuses. A link also notices a helper that died without a final status.

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { Assignment } from "../api/types.ts";
import { helperPaths, isHelperProcessOf } from "../helper/paths.ts";
import { parseHelperMessage } from "../helper/messages.ts";
import type { AgentMessage, HelperConfig, HelperStatus } from "../helper/protocol.ts";
import { PrivateModes } from "../model/index.ts";
import { readSavedAssignment, readSavedConfig, readSavedStatus } from "./saved.ts";
import type { SavedAssignment, SavedConfig, SavedStatus } from "./saved.ts";

/** Files the agent adds to an attempt directory (the helper's own are in ../helper/paths.ts). */
export const Files = {
  /** The helper's stdout and stderr (its own errors; the task's output goes to logs/). */
  log: "helper.log",
  /** The assignment the attempt was started for (spec, for the disconnect policy after a restart). */
  assignment: "assignment.json",
  /** Present once the server accepted the final status. */
  reported: "reported",
} as const;

/** The mode of the directories a task run as another user must pass through (the data dir, attempts/,
 * its attempt dir): others may traverse them, not list them; every file in them stays 0600. */
export const TraverseOnlyMode = 0o711;

/** DIR/attempts. */
export function attemptsRoot(dataDir: string): string {
  return path.join(dataDir, "attempts");
}

/** Writes attempt.json and assignment.json into a new attempt directory. */
export async function createAttemptDir(dir: string, config: HelperConfig, assignment: Assignment): Promise<void> {
  // 0700 and 0600: both files hold the job's env. A task run as another user without a sandbox must
  // pass through to its work dir (absolute paths): traverse-only, 0711, nothing listed or readable.
  const mode = config.runAs && !config.sandbox ? TraverseOnlyMode : PrivateModes.dir;
  await fs.promises.mkdir(dir, { recursive: true, mode });
  await fs.promises.chmod(dir, mode);
  // Never the secrets' values: adoption needs none of them (attempt.json, 0600, has what the helper uses).
  const { secrets: _values, ...saved } = assignment;
  await writeJsonAtomic(path.join(dir, Files.assignment), saved);
  await writeJsonAtomic(helperPaths(dir).config, config);
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp`;
  await fs.promises.writeFile(tmp, JSON.stringify(value, null, 2), { mode: PrivateModes.file });
  await fs.promises.chmod(tmp, PrivateModes.file); // a tmp file left by a crash kept its old mode
  await fs.promises.rename(tmp, file);
}

/** Starts a helper for `dir` in its own session, output to helper.log; returns its pid or why it failed. */
export function spawnHelper(command: string[], dir: string): Promise<{ pid: number } | { error: string }> {
  return spawnDetached([...command, dir], path.join(dir, Files.log), dir);
}

/** Starts `argv` in its own session, output appended to `logFile`; `onExit` hears when it ends. */
export function spawnDetached(argv: string[], logFile: string, cwd: string, onExit?: () => void): Promise<{ pid: number } | { error: string }> {
  const [bin, ...args] = argv;
  if (!bin) return Promise.resolve({ error: "empty helper command" });
  const fd = fs.openSync(logFile, "a", PrivateModes.file);
  try {
    const child = spawn(bin, args, { detached: true, stdio: ["ignore", fd, fd], cwd, env: process.env });
    if (onExit) child.once("exit", onExit);
    return new Promise((resolve) => {
      child.once("error", (err) => resolve({ error: err.message }));
      child.once("spawn", () => {
        child.unref();
        resolve({ pid: child.pid ?? -1 });
      });
    });
  } finally {
    fs.closeSync(fd);
  }
}

/** True when `pid` is alive and, where /proc tells, is the helper of `dir` (pids get reused): its own,
 * or a shared helper process of the same attempts folder (../helper/pool.ts). */
export function helperAlive(pid: number, dir: string): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    return isHelperProcessOf(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"), dir);
  } catch {
    return true;
  }
}

/** The command line of process `pid` (empty when it is gone or unreadable). */
export function readCmdline(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a !== "");
  } catch {
    return [];
  }
}

/** Kills a task left behind by a dead helper, if `pid` is still that attempt's process (checked in /proc). */
export function killOrphanTask(pid: number | null, attemptId: string): boolean {
  if (pid === null || !(pid > 0)) return false;
  try {
    const env = fs.readFileSync(`/proc/${pid}/environ`, "utf8");
    if (!env.split("\0").includes(`ATTEMPT_ID=${attemptId}`)) return false;
  } catch {
    return false;
  }
  try {
    // The helper starts its task as a process group leader: take its children too.
    process.kill(-pid, "SIGKILL");
    return true;
  } catch {
    // not a group leader after all
  }
  try {
    process.kill(pid, "SIGKILL");
    return true;
  } catch {
    return false;
  }
}

/** What a scan finds in one attempt directory. */
export interface ScannedAttempt {
  id: string;
  dir: string;
  /** attempt.json, assignment.json and status.json: the fields the agent relies on checked (saved.ts). */
  config: SavedConfig | null;
  assignment: SavedAssignment | null;
  status: SavedStatus | null;
  helperPid: number | null;
  reported: boolean;
  /** Creation time of attempt.json (ms), for keeping the newest per task. */
  createdAt: number;
  /** Why a file of the directory cannot be used (corrupt, truncated, wrong shape); its field is null. */
  bad: string[];
}

/** Lists DIR/attempts/* with what each directory holds. */
export async function scanAttempts(dataDir: string): Promise<ScannedAttempt[]> {
  const root = attemptsRoot(dataDir);
  const names = await fs.promises.readdir(root).catch(() => [] as string[]);
  const out: ScannedAttempt[] = [];
  for (const id of names) {
    const dir = path.join(root, id);
    const p = helperPaths(dir);
    const st = await fs.promises.stat(p.config).catch(() => null);
    if (!st) continue;
    const pidText = await fs.promises.readFile(p.pid, "utf8").catch(() => "");
    const [status, config, assignment] = await Promise.all([readSavedStatus(p.status), readSavedConfig(p.config), readSavedAssignment(path.join(dir, Files.assignment))]);
    const bad = [status, config, assignment].flatMap((r) => ("bad" in r ? [r.bad] : []));
    const statusValue = "value" in status ? status.value : null;
    const pidNum = Number.parseInt(pidText.trim(), 10);
    out.push({
      id,
      dir,
      config: "value" in config ? config.value : null,
      assignment: "value" in assignment ? assignment.value : null,
      status: statusValue,
      helperPid: Number.isFinite(pidNum) ? pidNum : (statusValue?.helperPid ?? null),
      reported: fs.existsSync(path.join(dir, Files.reported)),
      createdAt: st.birthtimeMs || st.mtimeMs,
      bad,
    });
  }
  return out;
}

/** Options of a HelperLink. */
export interface HelperLinkOptions {
  dir: string;
  /** The helper's pid when known (spawned now, or from helper.pid): used to tell "not up yet" from "dead". */
  helperPid: number | null;
  pingMs: number;
  onStatus(status: HelperStatus): void;
  /** The helper is gone; `status` is what status.json last said (null when nothing). */
  onGone(status: HelperStatus | null): void;
  /** How long a helper may take to open its socket before it counts as gone. @default 15000 */
  startTimeoutMs?: number;
}

/** A connection to one helper: pings it, relays its statuses, reconnects while it lives. */
export class HelperLink {
  readonly #o: HelperLinkOptions;
  #sock: net.Socket | null = null;
  #connected = false;
  #queue: AgentMessage[] = [];
  #ping: NodeJS.Timeout | null = null;
  #retry: NodeJS.Timeout | null = null;
  #closed = false;
  #since = Date.now();
  #awayUntil: number | null = null;
  /** The helper's latest fence probe on this connection (echoed in every ping; see helper/fence.ts). */
  #seq: number | null = null;

  constructor(opts: HelperLinkOptions) {
    this.#o = opts;
    this.#connect();
  }

  /** Sends a message now, or once connected. */
  send(msg: AgentMessage): void {
    if (this.#closed) return;
    if (this.#connected && this.#sock) this.#sock.write(`${JSON.stringify(msg)}\n`);
    else this.#queue.push(msg);
  }

  /** Pings with `awayUntil` (agent upgrade) from now on. */
  setAwayUntil(at: number): void {
    this.#awayUntil = at;
    this.send({ type: "ping", awayUntil: at, ...(this.#seq !== null ? { seq: this.#seq } : {}) });
  }

  /** True while the socket is open. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Closes the link, flushing what was written; the helper keeps running. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#ping) clearInterval(this.#ping);
    if (this.#retry) clearTimeout(this.#retry);
    const s = this.#sock;
    this.#sock = null;
    this.#connected = false;
    if (!s || s.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        s.destroy();
        resolve();
      }, 1000);
      s.end(() => {
        clearTimeout(t);
        s.destroy();
        resolve();
      });
    });
  }

  #connect(): void {
    if (this.#closed) return;
    const s = net.connect(helperPaths(this.#o.dir).socket);
    this.#sock = s;
    let buf = "";
    s.setEncoding("utf8");
    s.on("connect", () => {
      this.#connected = true;
      this.#since = Date.now();
      this.#seq = null;
      this.#pingNow();
      for (const m of this.#queue.splice(0)) s.write(`${JSON.stringify(m)}\n`);
      this.#ping = setInterval(() => this.#pingNow(), this.#o.pingMs);
    });
    s.on("data", (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        // A torn or foreign line is dropped: the next status will carry the full state anyway.
        const msg = parseHelperMessage(line);
        if (msg?.type === "status") this.#o.onStatus(msg.status);
        else if (msg?.type === "ping") {
          // A fence probe: answered at once, it counts from when the helper sent it.
          this.#seq = msg.seq;
          this.#pingNow();
        }
      }
    });
    s.on("error", () => {
      // "close" follows and decides what to do
    });
    s.on("close", () => {
      if (this.#ping) clearInterval(this.#ping);
      this.#ping = null;
      this.#connected = false;
      if (this.#closed || this.#sock !== s) return;
      void this.#afterClose();
    });
  }

  #pingNow(): void {
    const msg: AgentMessage = {
      type: "ping",
      ...(this.#awayUntil !== null && this.#awayUntil > Date.now() ? { awayUntil: this.#awayUntil } : {}),
      ...(this.#seq !== null ? { seq: this.#seq } : {}),
    };
    this.#sock?.write(`${JSON.stringify(msg)}\n`);
  }

  async #afterClose(): Promise<void> {
    const pid = this.#o.helperPid ?? (await this.#readPid());
    const alive = pid !== null ? helperAlive(pid, this.#o.dir) : Date.now() - this.#since < (this.#o.startTimeoutMs ?? 15_000);
    const starting = !fs.existsSync(helperPaths(this.#o.dir).socket) && Date.now() - this.#since < (this.#o.startTimeoutMs ?? 15_000);
    if (this.#closed) return;
    if (alive && (starting || pid !== null)) {
      this.#retry = setTimeout(() => this.#connect(), 100);
      return;
    }
    this.#closed = true;
    const saved = await readSavedStatus(helperPaths(this.#o.dir).status);
    this.#o.onGone("value" in saved ? saved.value : null);
  }

  async #readPid(): Promise<number | null> {
    const text = await fs.promises.readFile(helperPaths(this.#o.dir).pid, "utf8").catch(() => "");
    const n = Number.parseInt(text.trim(), 10);
    return Number.isFinite(n) ? n : null;
  }
}
