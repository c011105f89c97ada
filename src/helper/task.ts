// The task process. Isolation "none": started in its own process group (detached) so that stopping it
// reaches everything it started; stopped with the configured signal, then SIGKILL after the grace period.
// Isolation "sandbox": the same contract, through an OCI runtime (sandbox-task.ts); `createTask` picks.
// The group's leader is the supervising init (`timeout`, supervise.ts), which stops the group when the
// helper dies; its pid is the task's pid, as a container's init is a sandboxed task's. Processes that
// leave the group or outlive the init are reached through the task's cgroup (plain-cgroup.ts).
import { spawn } from "node:child_process";
import fs from "node:fs";
import type { ChildProcess } from "node:child_process";
import os from "node:os";
import type { Clock } from "../model/index.ts";
import type { LogStream } from "./log-segments.ts";
import { OutputPipes } from "./pipes.ts";
import { isIncurableError } from "./start-check.ts";
import { deathTools, programProblem, supervisedArgv } from "./supervise.ts";
import { cgroupMounts } from "./sandbox-cgroup.ts";
import { cgroupEmpty, createPlainCgroup, joinArgv, killCgroup, plainCgroupDir, plainCgroupName, removePlainCgroup, watcherArgv } from "./plain-cgroup.ts";
import { helperLog } from "./log.ts";

/** How the task ended. */
export interface TaskEnd {
  exitCode: number | null;
  signal: string | null;
  /** Set when Tiffin stopped the task (fencing, stop message, health). */
  stopReason: string | null;
  /** Set when the process could not be started. */
  startError: string | null;
  /** With startError: no retry can cure it (start-check.ts). */
  incurable?: boolean;
  /** Set when the task ended for a reason Tiffin saw from outside it, e.g. "out of memory: ...". */
  failure: string | null;
}

/** A run of the task, plain or sandboxed. */
export interface Task {
  /** The task's pid on the host, once started. */
  readonly pid: number | null;
  /** True once stop() was called. */
  readonly stopping: boolean;
  /** Starts it; a failure to start ends it with `startError`. */
  start(): void;
  /** Stop signal, grace, kill; the first reason wins. */
  stop(reason: string): void;
  /** Kills it at once, synchronously (the helper is dying). */
  killNow(): void;
}

/** What a TaskProcess needs. */
export interface TaskOptions {
  command: string[];
  env: Record<string, string>;
  cwd: string;
  /** Where the output pipes (FIFOs, pipes.ts) are made for a moment: the attempt directory. */
  pipesDir: string;
  stop: { signal: string; graceMs: number };
  clock: Clock;
  onSpawn: (pid: number) => void;
  onOutput: (stream: LogStream, chunk: Buffer) => void;
  /** Called once, after the process exited and its output pipes closed. */
  onEnd: (end: TaskEnd) => void;
  /** The uid and gid the task runs as (HelperConfig.runAs; needs util-linux setpriv). @default the helper's */
  runAs?: { uid: number; gid: number };
}

/** One run of the task as a plain process group. */
export class TaskProcess implements Task {
  readonly #o: TaskOptions;
  #child: ChildProcess | null = null;
  #stopReason: string | null = null;
  #killTimer: { cancel(): void } | null = null;
  #ended = false;
  #exited = false;
  /** True when the leader is `timeout`, which passes a stop signal on to the group itself. */
  #supervised = false;
  /** The task's own cgroup (plain-cgroup.ts), null where the host offers none. */
  #cgroup: string | null = null;
  /** Kills the cgroup if the helper dies (its stdin: a line means "done, exit"). */
  #watcher: ChildProcess | null = null;

  constructor(opts: TaskOptions) {
    this.#o = opts;
  }

  /** The task's pid (also its process group id), once started. */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** True once stop() was called. */
  get stopping(): boolean {
    return this.#stopReason !== null;
  }

  /** Starts the process; a failure to start ends the task with `startError`. */
  start(): void {
    if (this.#stopReason !== null) return this.#end({ exitCode: null, signal: null, stopReason: this.#stopReason, startError: null, failure: null });
    // The program is looked for here, as the init would: its failing to exec would read as an exit 127.
    const problem = programProblem(this.#o.command, this.#o.cwd, this.#o.env);
    if (problem !== null) return this.#end({ exitCode: null, signal: null, stopReason: null, startError: problem, failure: null });
    const tools = deathTools();
    // Never the helper's user (root) instead of the one asked for: no setpriv, no start.
    if (this.#o.runAs !== undefined && tools.setpriv === null) {
      return this.#end({ exitCode: null, signal: null, stopReason: null, startError: `cannot run as uid ${this.#o.runAs.uid}: util-linux setpriv (2.33 or later) is not installed on this host`, failure: null, incurable: true });
    }
    const sig = validSignal(this.#o.stop.signal) ? this.#o.stop.signal : "SIGTERM";
    const [file, ...args] = supervisedArgv(tools, { signal: sig, graceMs: this.#o.stop.graceMs }, this.#o.command, this.#o.runAs);
    if (file === undefined) return this.#end({ exitCode: null, signal: null, stopReason: null, startError: "empty command", failure: null });
    this.#supervised = tools.timeout !== null;
    const argv = this.#openCgroup() ? joinArgv(this.#cgroup!, [file, ...args]) : [file, ...args];
    let child: ChildProcess;
    let pipes: OutputPipes;
    try {
      pipes = OutputPipes.open(this.#o.pipesDir);
    } catch (e) {
      this.#closeCgroup();
      return this.#end({ exitCode: null, signal: null, stopReason: null, startError: `output pipes: ${describeError(e)}`, failure: null });
    }
    try {
      child = spawn(argv[0]!, argv.slice(1), { cwd: this.#o.cwd, env: this.#o.env, detached: true, stdio: pipes.stdio });
    } catch (e) {
      pipes.destroy();
      this.#closeCgroup();
      return this.#end({ exitCode: null, signal: null, stopReason: null, startError: describeError(e), failure: null, incurable: isIncurableError(e) });
    } finally {
      // The child has its copies (or none): EOF must come when the task's processes are done with them.
      pipes.closeWriteEnds();
    }
    this.#child = child;
    let spawned = false;
    pipes.onData((stream, b) => this.#o.onOutput(stream, b));
    child.once("spawn", () => {
      spawned = true;
      this.#startWatcher();
      if (child.pid !== undefined) this.#o.onSpawn(child.pid);
    });
    child.on("error", (e) => {
      if (spawned) return;
      pipes.destroy();
      this.#closeCgroup();
      this.#end({ exitCode: null, signal: null, stopReason: null, startError: describeError(e), failure: null, incurable: isIncurableError(e) });
    });
    child.once("exit", (code, signal) => {
      this.#exited = true;
      this.#killTimer?.cancel();
      // The attempt is over: whatever the task left behind in its group or its cgroup goes with it.
      this.#signalGroup("SIGKILL");
      void pipes.drained((cb, ms) => this.#o.clock.setTimeout(cb, ms)).then(async () => {
        pipes.destroy();
        await this.#emptyCgroup();
        this.#end({ exitCode: code, signal, stopReason: this.#stopReason, startError: null, failure: null });
      });
    });
  }

  /** Stops the task: stop signal to the group, SIGKILL after the grace period. The first reason wins. */
  stop(reason: string): void {
    if (this.#stopReason !== null || this.#ended) return;
    this.#stopReason = reason;
    if (!this.#child || this.#exited) return;
    const sig = (validSignal(this.#o.stop.signal) ? this.#o.stop.signal : "SIGTERM") as NodeJS.Signals;
    // The init passes it on to the group; signalling the group as well would reach the task again (a
    // second SIGINT may mean "quit now" to it), as in a sandbox, where only the init is signalled.
    if (this.#supervised) this.#signalLeader(sig);
    else this.#signalGroup(sig);
    this.#killTimer = this.#o.clock.setTimeout(() => this.#signalGroup("SIGKILL"), this.#o.stop.graceMs);
  }

  /** SIGKILLs the group and the cgroup at once (the helper is dying). */
  killNow(): void {
    this.#signalGroup("SIGKILL");
  }

  /** Makes the task's cgroup; false (said on stderr) where the host offers none. */
  #openCgroup(): boolean {
    let self = "";
    try {
      self = fs.readFileSync("/proc/self/cgroup", "utf8");
    } catch {
      // no /proc: no cgroup either
    }
    const dir = plainCgroupDir(cgroupMounts(), self, plainCgroupName(this.#o.pipesDir));
    const why = dir === null ? "no cgroup2 mount" : createPlainCgroup(dir);
    if (why !== null) {
      helperLog.warn(`${why}: a process of this task that leaves its process group is not stopped with it`);
      return false;
    }
    this.#cgroup = dir;
    return true;
  }

  #startWatcher(): void {
    if (this.#cgroup === null) return;
    const [sh, ...args] = watcherArgv(this.#cgroup, this.#o.stop.graceMs);
    try {
      // Its own environment: nothing in /proc may take it for one of the task's processes.
      const w = spawn(sh!, args, { detached: true, stdio: ["pipe", "ignore", "ignore"], env: { PATH: "/usr/bin:/bin" } });
      w.on("error", () => {});
      w.stdin?.on("error", () => {});
      w.unref();
      this.#watcher = w;
    } catch {
      // no watcher: a helper killed -9 leaves escaped processes to the agent
    }
  }

  /** Kills what is left in the cgroup, waits (at most 2 s) until it is empty, removes it, dismisses the watcher. */
  async #emptyCgroup(): Promise<void> {
    const dir = this.#cgroup;
    if (dir === null) return;
    killCgroup(dir);
    for (let i = 0; i < 100 && !cgroupEmpty(dir); i++) await new Promise<void>((r) => this.#o.clock.setTimeout(r, 20));
    this.#closeCgroup();
  }

  #closeCgroup(): void {
    if (this.#cgroup !== null) removePlainCgroup(this.#cgroup);
    this.#cgroup = null;
    this.#watcher?.stdin?.end("done\n");
    this.#watcher = null;
  }

  #signalLeader(sig: NodeJS.Signals): void {
    try {
      if (this.#child?.pid !== undefined) process.kill(this.#child.pid, sig);
    } catch {
      // ESRCH: gone.
    }
  }

  #signalGroup(sig: NodeJS.Signals): void {
    if (sig === "SIGKILL" && this.#cgroup !== null) killCgroup(this.#cgroup);
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // ESRCH: the group is already gone.
    }
  }

  #end(end: TaskEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#killTimer?.cancel();
    this.#o.onEnd(end);
  }
}

function validSignal(name: string): boolean {
  return Object.hasOwn(os.constants.signals, name);
}

function describeError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code} ${err.message}` : String(e);
}
