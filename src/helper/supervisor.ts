// One helper's life, wired from the parts: status file, agent socket, fence, task, logs, health.
//
//   starting ──> running ──> healthy <──> unhealthy
//      │            │           │            │
//      └────────────┴───────────┴────────────┴──> exited | stopped | failed ──> linger until ack (or lingerMs) ──> exit
//
// The final status is written only after the log segments are closed, so a reader that sees a final
// status and then reads to the end has everything.
import fs from "node:fs";
import path from "node:path";
import type { AttemptEndCause, Clock, ResourceUsage } from "../model/index.ts";
import { Fence } from "./fence.ts";
import { HealthMonitor, runHealthCheck } from "./health.ts";
import type { CheckContext } from "./health.ts";
import { execArgv, runtimeEnv } from "./sandbox-runtime.ts";
import { LogSink } from "./logs.ts";
import type { HelperPaths } from "./paths.ts";
import type { AgentMessage, HelperConfig, HelperStatus } from "./protocol.ts";
import { AgentServer } from "./socket.ts";
import { StatusFile } from "./status.ts";
import { incurableStartProblems, isIncurableError } from "./start-check.ts";
import { SandboxTask } from "./sandbox-task.ts";
import { TaskProcess } from "./task.ts";
import { containerId } from "./sandbox.ts";
import { sampleUsage } from "./usage.ts";
import { sampleProcUsage } from "./usage-proc.ts";
import { watchDisk } from "./disk.ts";
import type { Task, TaskEnd, TaskOptions } from "./task.ts";
import { removeSecrets, SecretFilesDir, takeSecrets, writeSecretFiles } from "./secrets-dir.ts";
import { taskHostIds } from "./sandbox-config.ts";
import type { SandboxConfig } from "./protocol.ts";

/** Runs one attempt until its final status is acknowledged; resolves with the process exit code. */
export class Supervisor {
  readonly #paths: HelperPaths;
  readonly #cfg: HelperConfig;
  readonly #clock: Clock;
  readonly #lingerMs: number;
  readonly #status: StatusFile;
  readonly #server: AgentServer;
  readonly #sinks: { stdout: LogSink; stderr: LogSink };
  readonly #task: Task;
  #fence: Fence | null = null;
  #health: HealthMonitor | null = null;
  #final = false;
  #terminating = false;
  #linger: { cancel(): void } | null = null;
  #sampler: { stop(): void } | null = null;
  #disk: { stop(): void } | null = null;
  /** The first stop was the server's wish (see stop()). */
  #deliberate = false;
  /** What the first stop was for (see stop()). */
  #stopCause: AttemptEndCause = "stop";
  #finish: (code: number) => void = () => {};
  /** Secret files for work/secrets (HelperConfig.secretsDir), held until written to the tmpfs. */
  #secretFiles: Record<string, string> = {};
  readonly #sandbox: SandboxConfig | null;

  constructor(paths: HelperPaths, cfg: HelperConfig, clock: Clock, lingerMs: number) {
    this.#paths = paths;
    this.#cfg = cfg;
    this.#clock = clock;
    this.#lingerMs = lingerMs;
    const initial: HelperStatus = {
      attemptId: cfg.attemptId,
      state: "starting",
      helperPid: process.pid,
      pid: null,
      exitCode: null,
      signal: null,
      reason: null,
      startedAt: null,
      endedAt: null,
    };
    // A new agent gets a probe at once: until it has seen one, its pings carry no seq and count on arrival.
    this.#server = new AgentServer(paths.socket, () => this.#status.get(), (m) => this.#onMessage(m), () => this.#fence?.probeNow());
    this.#status = new StatusFile(paths.status, initial, (s) => this.#server.broadcast(s));
    const sink = (stream: "stdout" | "stderr"): LogSink =>
      new LogSink({ logsDir: paths.logs, stream, segmentBytes: cfg.logSegmentBytes, segmentsKept: cfg.logSegmentsKept });
    this.#sinks = { stdout: sink("stdout"), stderr: sink("stderr") };
    if (cfg.notice) this.#sinks.stderr.write(Buffer.from(`[tiffin] ${cfg.notice}\n`));
    // Secret values: read from the tmpfs and removed there at once; they live in this process and the task.
    const secrets = cfg.secretsDir !== undefined ? takeSecrets(cfg.secretsDir) : null;
    this.#secretFiles = secrets?.files ?? {};
    const env = { ...cfg.env, ...(cfg.runAs && cfg.env["HOME"] === undefined ? { HOME: paths.work } : {}), ...(secrets?.env ?? {}) };
    const taskOptions: TaskOptions = {
      command: cfg.command,
      // A task run as the task user does not get the agent's HOME: its work dir is its home.
      env,
      ...(cfg.runAs ? { runAs: cfg.runAs } : {}),
      cwd: paths.work,
      pipesDir: paths.dir,
      stop: cfg.stop,
      clock,
      onSpawn: (pid) => this.#onSpawn(pid),
      onOutput: (stream, chunk) => this.#sinks[stream].write(chunk),
      onEnd: (end) => void this.#onEnd(end),
    };
    let sandbox = cfg.sandbox ?? null;
    // Secret files reach a sandbox as a read-only bind of the tmpfs dir at work/secrets.
    if (sandbox !== null && cfg.secretsDir !== undefined && Object.keys(this.#secretFiles).length > 0) {
      sandbox = { ...sandbox, mounts: [...sandbox.mounts, { host: path.join(cfg.secretsDir, "files"), task: path.join(paths.work, SecretFilesDir), writable: false }] };
    }
    this.#sandbox = sandbox;
    const configDir = cfg.secretsDir !== undefined ? { configDir: cfg.secretsDir } : {};
    this.#task = sandbox === null ? new TaskProcess(taskOptions) : new SandboxTask({ ...taskOptions, sandbox, attemptId: cfg.attemptId, attemptDir: paths.dir, ...configDir });
  }

  /** True once the final status is written (the task is gone; only the agent's ack is awaited). */
  get final(): boolean {
    return this.#final;
  }

  /** Starts the task and resolves when the helper may exit. */
  async run(): Promise<number> {
    const done = new Promise<number>((resolve) => {
      this.#finish = (code) => {
        // Nothing may keep the process alive once done: `tiffin helper` returns instead of exiting.
        this.#linger?.cancel();
        resolve(code);
      };
    });
    await this.#server.listen();
    // The fence clock starts now: an agent is expected to connect within fenceMs.
    this.#fence = new Fence({
      clock: this.#clock,
      fenceMs: this.#cfg.fenceMs,
      onFence: (reason) => this.stop(reason, false, "fence"),
      probe: (seq) => this.#server.probe(seq),
      drain: (then) => setImmediate(then),
    });
    const incurable = incurableStartProblems(this.#cfg);
    const fileError = incurable.length > 0 ? null : this.#writeFiles();
    if (incurable.length > 0) {
      void this.#onEnd({ exitCode: null, signal: null, stopReason: null, startError: `the kernel cannot run this spec: ${incurable.join("; ")}`, failure: null, incurable: true });
    } else if (fileError) void this.#onEnd({ exitCode: null, signal: null, stopReason: null, startError: fileError.message, failure: null, incurable: fileError.incurable });
    else this.#task.start();
    const code = await done;
    await this.#server.close();
    fs.rmSync(this.#paths.pid, { force: true });
    return code;
  }

  /** Stops the task with `reason` (signal, grace, kill). `deliberate`: the server asked for it, so
   * the end is recorded as "stopped" (the first stop's reason is the one kept, and so is its kind). */
  stop(reason: string, deliberate = false, cause: AttemptEndCause = "stop"): void {
    this.#health?.stop();
    if (!this.#task.stopping) {
      this.#deliberate = deliberate;
      this.#stopCause = cause;
    }
    this.#task.stop(reason);
  }

  /** The helper itself was asked to go: stop the task, then exit without waiting for an ack. */
  terminate(): void {
    this.#terminating = true;
    if (this.#final) this.#finish(0);
    else this.stop("helper stopped", false, "helper");
  }

  /** Last resort when the helper is crashing: the task must not outlive it. */
  crash(err: unknown): void {
    this.#task.killNow();
    this.#status.update({ state: "failed", reason: `helper crashed: ${String(err)}`, endCause: "helper", endedAt: this.#clock.now() });
  }

  #onMessage(m: AgentMessage): void {
    switch (m.type) {
      case "ping":
        this.#fence?.ping(m.awayUntil, m.seq);
        break;
      case "stop":
        this.stop(`stopped: ${m.reason}`, m.deliberate === true);
        break;
      case "ack":
        if (this.#final) this.#finish(0);
        break;
    }
  }

  #onSpawn(pid: number): void {
    this.#status.update({ state: "running", pid, startedAt: this.#clock.now() });
    const sb = this.#cfg.sandbox ?? null;
    // Not once a stop began: a sample of a task tearing down (memory freed, processes gone) would
    // replace the last one of it running, which the final status is to keep.
    const onUsage = (usage: ResourceUsage): void => {
      if (!this.#final && !this.#task.stopping) this.#status.update({ usage });
    };
    const every = this.#cfg.usageSampleMs ?? 5000;
    if (sb !== null && !sb.runtime.rootless && !this.#task.stopping) {
      const cg = `${sb.cgroupParent.replace(/\/+$/, "")}/${containerId(this.#cfg.attemptId, this.#paths.dir)}`;
      this.#sampler = sampleUsage(cg, every, () => this.#clock.now(), onUsage);
    } else if (!this.#task.stopping) {
      // No cgroup of its own (isolation "none", rootless): the process tree from /proc.
      this.#sampler = sampleProcUsage(pid, every, () => this.#clock.now(), onUsage);
    }
    const limit = this.#cfg.diskLimitMiB;
    if (limit !== undefined && !this.#task.stopping) {
      this.#disk = watchDisk(this.#paths.work, limit, this.#cfg.diskCheckMs ?? 5000, (reason) => this.stop(reason, false, "disk"));
    }
    const check = this.#cfg.health;
    if (!check || this.#task.stopping) return;
    const sandbox = this.#cfg.sandbox ?? null;
    const ctx: CheckContext = { ports: this.#cfg.ports, cwd: this.#paths.work, env: this.#cfg.env };
    if (sandbox !== null) ctx.command = (run) => ({ argv: execArgv(sandbox, containerId(this.#cfg.attemptId, this.#paths.dir), run), cwd: "/", env: runtimeEnv() });
    this.#health = new HealthMonitor({
      check,
      clock: this.#clock,
      run: () => runHealthCheck(check, ctx),
      onState: (state) => {
        if (!this.#task.stopping) this.#status.update({ state });
      },
      onAction: (reason) => this.stop(reason, false, "health"),
    });
    this.#health.start();
  }

  async #onEnd(end: TaskEnd): Promise<void> {
    if (this.#cfg.secretsDir !== undefined) removeSecrets(this.#cfg.secretsDir);
    this.#fence?.cancel();
    this.#health?.stop();
    this.#sampler?.stop();
    this.#disk?.stop();
    await Promise.all([this.#sinks.stdout.close(), this.#sinks.stderr.close()]);
    const now = this.#clock.now();
    if (end.startError !== null) {
      this.#status.update({ state: "failed", reason: `start failed: ${end.startError}`, ...(end.incurable === true ? { incurable: true } : {}), endCause: "start", endedAt: now });
    } else {
      // A stop Tiffin asked for explains the end better than what it led to (a SIGKILL at the limit...).
      const reason = end.stopReason ?? end.failure;
      this.#status.update({
        state: reason === null ? "exited" : end.stopReason !== null && this.#deliberate ? "stopped" : "failed",
        exitCode: end.exitCode,
        signal: end.signal,
        reason,
        endCause: end.stopReason !== null ? this.#stopCause : end.failure !== null ? "oom" : "exit",
        endedAt: now,
      });
    }
    this.#final = true;
    if (this.#terminating) return this.#finish(0);
    this.#linger = this.#clock.setTimeout(() => this.#finish(0), this.#lingerMs);
  }

  /** Writes the config's files into work/; returns what went wrong, if anything. */
  #writeFiles(): { message: string; incurable: boolean } | null {
    const work = this.#paths.work;
    try {
      fs.mkdirSync(work, { recursive: true });
      for (const [rel, f] of Object.entries(this.#cfg.files)) {
        const file = path.resolve(work, rel);
        if (!file.startsWith(work + path.sep)) return { message: `file "${rel}" is outside the work directory`, incurable: true };
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, f.content);
        fs.chmodSync(file, f.mode);
      }
      if (this.#cfg.secretsDir !== undefined && Object.keys(this.#secretFiles).length > 0) {
        const helper = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
        const owner = this.#sandbox !== null ? taskHostIds(this.#sandbox, helper) : (this.#cfg.runAs ?? helper);
        const files = writeSecretFiles(this.#cfg.secretsDir, this.#secretFiles, owner);
        this.#secretFiles = {};
        const at = path.join(work, SecretFilesDir);
        fs.rmSync(at, { recursive: true, force: true });
        // A sandbox binds the tmpfs dir here (an empty mount point on disk); a plain task follows a link.
        if (this.#sandbox !== null) fs.mkdirSync(at);
        else fs.symlinkSync(files, at);
      }
      // The task user's own tree (a kept work dir included): nothing else in the attempt dir is.
      if (this.#cfg.runAs) chownTree(work, this.#cfg.runAs);
      return null;
    } catch (e) {
      return { message: `writing files: ${String(e)}`, incurable: isIncurableError(e) };
    }
  }
}

/** Makes `dir` and everything under it (symlinks themselves, not their targets) belong to `ids`. */
function chownTree(dir: string, ids: { uid: number; gid: number }): void {
  fs.lchownSync(dir, ids.uid, ids.gid);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) chownTree(p, ids);
    else fs.lchownSync(p, ids.uid, ids.gid);
  }
}
