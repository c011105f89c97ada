// A task in an OCI sandbox. The helper stays the parent: it runs `RUNTIME run --bundle B --pid-file P ID`
// in the foreground (own process group, stdio pipes, no terminal), so the task's output flows through
// the runtime's inherited pipes into the log catcher and the runtime's exit status is the task's.
// The runtime runs with a parent-death signal and the init stops the task when the runtime dies, so a
// helper killed with SIGKILL takes its task along (supervise.ts).
//
//   write bundle ─> runtime run ─> pid file (the init's host pid: reported as the task's pid)
//        stop: `kill ID <stop signal>` ─ grace ─> `kill ID KILL`   (init = timeout: forwards to the task)
//        exit: 128+n from the runtime = signal n ─> `delete -f ID` ─> read peak/OOM ─> remove cgroup
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as realTimeout } from "node:timers";
import type { SandboxConfig } from "./protocol.ts";
import { lastLine, preflight, writeBundle } from "./sandbox.ts";
import type { Bundle, BundleInput } from "./sandbox.ts";
import { cgroupMounts, outOfMemoryReason, readMemoryUse, removeCgroup } from "./sandbox-cgroup.ts";
import { hostMemoryMode, v2OomReason, watchOomV2 } from "./sandbox-oom-v2.ts";
import type { MemoryUse } from "./sandbox-cgroup.ts";
import { deleteContainer, killContainer, runtimeArgv, runtimeEnv } from "./sandbox-runtime.ts";
import { oomStopReason, v1MemoryDir, watchOom } from "./sandbox-oom.ts";
import type { Task, TaskEnd, TaskOptions } from "./task.ts";
import { OutputPipes } from "./pipes.ts";
import { diesWithParent } from "./supervise.ts";

/** What a SandboxTask needs besides the plain task options. */
export interface SandboxTaskOptions extends TaskOptions {
  sandbox: SandboxConfig;
  attemptId: string;
  attemptDir: string;
  /** Where config.json (it holds the env, secrets included) really goes: a tmpfs dir (BundleInput.configDir). */
  configDir?: string;
}

/** How often the pid file is looked for while the container starts (a start takes ~10-30 ms). */
const pidPollMs = 2;

/** Maps the runtime's exit to the task's: the runtime exits 128+n when the init died of signal n. */
export function taskExit(code: number | null, signal: string | null): { exitCode: number | null; signal: string | null } {
  if (signal !== null) return { exitCode: null, signal };
  if (code !== null && code > 128) {
    const name = Object.entries(os.constants.signals).find(([, n]) => n === code - 128)?.[0];
    if (name) return { exitCode: null, signal: name };
  }
  return { exitCode: code, signal: null };
}

/** One run of a task in a sandbox. */
export class SandboxTask implements Task {
  readonly #o: SandboxTaskOptions;
  #child: ChildProcess | null = null;
  #pipes: OutputPipes | null = null;
  #bundle: Bundle | null = null;
  #pid: number | null = null;
  #stopReason: string | null = null;
  #killTimer: { cancel(): void } | null = null;
  #ended = false;
  #exited = false;
  /** The runtime's own complaint, when it fails before the task starts. */
  #errTail = "";
  #oomWatch: { stop(): void } | null = null;
  /** Set when the OOM watch ended the task (cgroup v1 without the OOM killer). */
  #oomReason: string | null = null;

  constructor(opts: SandboxTaskOptions) {
    this.#o = opts;
  }

  /** The container init's pid on the host, once started. */
  get pid(): number | null {
    return this.#pid;
  }

  /** True once stop() was called. */
  get stopping(): boolean {
    return this.#stopReason !== null;
  }

  /** Writes the bundle and starts the runtime; a failure before the task runs ends it with `startError`. */
  start(): void {
    const fail = (startError: string): void => this.#end({ exitCode: null, signal: null, stopReason: this.#stopReason, startError, failure: null });
    if (this.#stopReason !== null) return this.#end({ exitCode: null, signal: null, stopReason: this.#stopReason, startError: null, failure: null });
    const input: BundleInput = {
      attemptId: this.#o.attemptId,
      attemptDir: this.#o.attemptDir,
      workDir: this.#o.cwd,
      command: this.#o.command,
      env: this.#o.env,
      stopSignal: validSignal(this.#o.stop.signal) ? this.#o.stop.signal : "SIGTERM",
      graceMs: this.#o.stop.graceMs,
      sandbox: this.#o.sandbox,
      ...(this.#o.configDir !== undefined ? { configDir: this.#o.configDir } : {}),
    };
    const problem = preflight(input);
    if (problem !== null) return fail(problem);
    let bundle: Bundle;
    try {
      bundle = writeBundle(input);
    } catch (e) {
      return fail(`writing the sandbox bundle: ${String(e)}`);
    }
    this.#bundle = bundle;
    // The runtime dies with the helper, and the container's init then stops the task (supervise.ts).
    const [file, ...args] = diesWithParent(bundle.tools, runtimeArgv(this.#o.sandbox.runtime, ["run", "--bundle", bundle.dir, "--pid-file", bundle.pidFile, bundle.id]));
    let child: ChildProcess;
    let pipes: OutputPipes;
    try {
      pipes = OutputPipes.open(this.#o.pipesDir);
    } catch (e) {
      return fail(`output pipes: ${String(e)}`);
    }
    this.#pipes = pipes;
    try {
      // The runtime hands its own stdio to the container: the task's fds 1 and 2 are these pipes.
      child = spawn(file ?? "", args, { cwd: bundle.dir, env: runtimeEnv(), detached: true, stdio: pipes.stdio });
    } catch (e) {
      pipes.destroy();
      return fail(`${this.#o.sandbox.runtime.name}: ${String(e)}`);
    } finally {
      pipes.closeWriteEnds();
    }
    this.#child = child;
    let spawned = false;
    pipes.onData((stream, b) => {
      if (stream === "stderr" && this.#pid === null) this.#errTail = (this.#errTail + b.toString()).slice(-4000);
      this.#o.onOutput(stream, b);
    });
    child.once("spawn", () => {
      spawned = true;
      this.#pollPid();
    });
    child.on("error", (e) => {
      if (spawned) return;
      pipes.destroy();
      fail(`${this.#o.sandbox.runtime.name}: ${e.message}`);
    });
    child.once("exit", (code, signal) => {
      this.#exited = true;
      this.#killTimer?.cancel();
      void this.#finish(code, signal);
    });
  }

  /** Stops the task: stop signal through the runtime, KILL after the grace period. The first reason wins. */
  stop(reason: string): void {
    if (this.#stopReason !== null || this.#ended) return;
    this.#stopReason = reason;
    if (!this.#child || this.#exited || this.#pid === null) return; // delivered once the pid is known
    this.#deliverStop();
  }

  /** SIGKILLs the container at once (the helper is dying): killing a pid namespace's init ends all of it. */
  killNow(): void {
    if (this.#pid !== null && !this.#exited) {
      try {
        process.kill(this.#pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }

  #deliverStop(): void {
    const { runtime } = this.#o.sandbox;
    const id = this.#bundle?.id ?? "";
    const sig = validSignal(this.#o.stop.signal) ? this.#o.stop.signal : "SIGTERM";
    void killContainer(runtime, id, sig);
    this.#killTimer = this.#o.clock.setTimeout(() => {
      if (!this.#exited) void killContainer(runtime, id, "SIGKILL");
    }, this.#o.stop.graceMs);
  }

  #pollPid(): void {
    const file = this.#bundle?.pidFile;
    if (file === undefined || this.#exited) return;
    if (!this.#readPid()) {
      realTimeout(() => this.#pollPid(), pidPollMs);
      return;
    }
    if (this.#stopReason !== null) this.#deliverStop();
  }

  /**
   * Reads the pid file; once it names a pid whose init is ready, that is the task's (reported through
   * onSpawn). Ready: the init (timeout) catches the stop signal. The runtime writes the pid file before
   * the init has exec'd, and a stop signal sent then would be ignored (pid 1 without a handler) and the
   * task would run on until the grace period's KILL.
   */
  #readPid(): boolean {
    if (this.#pid !== null) return true;
    let pid = Number.NaN;
    try {
      pid = Number.parseInt(fs.readFileSync(this.#bundle?.pidFile ?? "", "utf8").trim(), 10);
    } catch {
      // not written yet
    }
    if (!(pid > 0)) return false;
    const sig = os.constants.signals[this.#o.stop.signal as NodeJS.Signals] as number | undefined;
    if (this.#bundle?.init && sig !== undefined && sig !== os.constants.signals.SIGKILL && !this.#exited && !catches(pid, sig)) return false;
    this.#pid = pid;
    // The runtime has read config.json (the env, secrets included) and keeps its own state: the tmpfs
    // copy has served (secrets-dir.ts), and a helper killed from here on cannot leave it behind.
    if (this.#o.configDir !== undefined) fs.rmSync(path.join(this.#o.configDir, "config.json"), { force: true });
    this.#watchOom();
    this.#o.onSpawn(pid);
    return true;
  }

  /** cgroup v1: the kernel pauses a task at its limit instead of killing in it; end it whole, say why.
   * cgroup v2: watch memory.events (sandbox-oom-v2.ts). */
  #watchOom(): void {
    const mem = v1MemoryDir();
    const b = this.#bundle;
    if (!b || b.cgroup === null) return;
    if (mem === null) return this.#watchOomV2(b.id, b.cgroup);
    this.#oomWatch = watchOom(path.join(mem, b.cgroup, "task"), 250, (peak) => {
      if (this.#exited || this.#stopReason !== null) return;
      this.#oomReason = oomStopReason(this.#o.sandbox.limits.memoryMiB, peak);
      // Processes waiting for memory only wake for SIGKILL: a stop signal and grace would wait for ever.
      void killContainer(this.#o.sandbox.runtime, b.id, "SIGKILL");
    });
  }

  #watchOomV2(id: string, cgroup: string): void {
    const mounts = cgroupMounts();
    const v2 = mounts.find((m) => m.version === 2);
    if (!v2 || hostMemoryMode(mounts) !== "v2") return;
    const limitMiB = this.#o.sandbox.limits.memoryMiB;
    this.#oomWatch = watchOomV2(path.join(v2.dir, cgroup, "task"), 250, 10_000, () => this.#o.clock.now(), (d, peak) => {
      if (this.#exited || this.#stopReason !== null) return;
      this.#oomReason = v2OomReason(d, limitMiB, peak);
      // "killed": the kernel ended the whole task already (memory.oom.group); "kill": reclaim failed at
      // the limit; "stop": pressure at memory.high for 10 s, a clean restart before the kernel must kill.
      if (d.action === "kill") void killContainer(this.#o.sandbox.runtime, id, "SIGKILL");
      else if (d.action === "stop") this.#deliverStop();
    });
  }

  async #finish(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    await this.#pipes?.drained((cb, ms) => this.#o.clock.setTimeout(cb, ms));
    this.#pipes?.destroy();
    const b = this.#bundle;
    let use: MemoryUse | null = null;
    if (b) {
      await deleteContainer(this.#o.sandbox.runtime, b.id);
      if (b.cgroup !== null) {
        use = readMemoryUse(b.cgroup);
        removeCgroup(b.cgroup);
      }
    }
    // A task that ends within the first poll interval: the pid file is all that is left of its start.
    if (this.#pid === null) this.#readPid();
    if (this.#pid === null && code !== 0) {
      const what = lastLine(this.#errTail) || `exited ${code ?? signal}`;
      return this.#end({ exitCode: null, signal: null, stopReason: this.#stopReason, startError: `${this.#o.sandbox.runtime.name}: ${what}`, failure: null });
    }
    const exit = taskExit(code, signal);
    const failure = this.#oomReason ?? (use === null ? null : outOfMemoryReason(exit.signal, use, this.#o.sandbox.limits.memoryMiB));
    this.#end({ ...exit, stopReason: this.#stopReason, startError: null, failure });
  }

  #end(end: TaskEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#killTimer?.cancel();
    this.#oomWatch?.stop();
    this.#o.onEnd(end);
  }
}

/** True when process `pid` has a handler for signal number `sig` (SigCgt in /proc/PID/status). */
export function catches(pid: number, sig: number): boolean {
  try {
    const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m !== null && ((BigInt(`0x${m[1]}`) >> BigInt(sig - 1)) & 1n) === 1n;
  } catch {
    return false;
  }
}

function validSignal(name: string): boolean {
  return Object.hasOwn(os.constants.signals, name);
}
