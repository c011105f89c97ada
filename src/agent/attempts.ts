// The attempts on this host: starts helpers for new assignments, sends stops, relays every helper
// status to the reporter and acks final ones once the server has them, re-adopts helpers left by a
// previous agent, and deletes old attempt directories. Decisions come from reconcile.ts.

import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { Assignment, AttemptUpdate } from "../api/types.ts";
import type { SandboxConfig } from "../helper/protocol.ts";
import { removeSandbox } from "../helper/sandbox.ts";
import type { AgentMessage, HelperStatus } from "../helper/protocol.ts";
import { isTerminal, stopDelayOf } from "../model/index.ts";
import type { JobSpec } from "../model/index.ts";
import { helperConfig, secretValues } from "./config.ts";
import { defaultSecretsRoot, removeSecrets, secretsDirOf, writeSecrets } from "../helper/secrets-dir.ts";
import type { PackageCache } from "./packages.ts";
import { attemptsRoot, createAttemptDir, Files, helperAlive, HelperLink, killOrphanTask, readCmdline, scanAttempts } from "./helpers.ts";
import { DEFAULT_TASKS_PER_HELPER, HelperPool } from "./helper-pool.ts";
import type { PortAllocator } from "./ports.ts";
import { planCleanup, planDisconnectStops, planReconcile } from "./reconcile.ts";
import type { LocalAttempt } from "./reconcile.ts";
import type { Reporter } from "./reporter.ts";
import { StartGate } from "./start-gate.ts";
import { adoptStickyWork } from "./sticky-work.ts";
import { helperPaths } from "../helper/paths.ts";
import type { ServiceWiring } from "./services/local-services.ts";

/** What an entry takes from its assignment, received now or read back from assignment.json (where
 * saved.ts checks these fields and no others). */
interface EntryAssignment {
  spec: { disconnect: { stopAfterMs: number | null }; stop: { graceMs: number; delayMs?: number | undefined }; ports?: readonly string[] | undefined; pinned?: readonly { id: string }[] | undefined };
}

/** Helpers started at once by default (AttemptManagerDeps.maxConcurrentStarts). */
export const DEFAULT_MAX_CONCURRENT_STARTS = 4;

/** What the manager needs from the agent. */
export interface AttemptManagerDeps {
  dataDir: string;
  /** argv that starts a helper (the attempt directory is appended); a function when it is settled
   * after the manager is built (the agent bundles the helper after adopting). */
  helperCommand: string[] | (() => string[]);
  ports: PortAllocator;
  reporter: Reporter;
  log: Logger;
  /** Current identity facts from registration. */
  hostName: string;
  fenceMs: () => number;
  /** Attempt directories kept per task after they ended. @default 3 */
  keepPerTask?: number;
  /** The sandbox of an attempt, or why this host refuses it (isolation.ts). @default always plain */
  sandboxFor?: (a: Assignment) => { sandbox: SandboxConfig | null; notice?: string; runAs?: { uid: number; gid: number } } | { refused: string };
  /** Fetches and unpacks an attempt's pinned packages (packages.ts). @default none: pinned specs fail */
  packages?: PackageCache;
  /** Told which packages an attempt uses when it starts, and after each fetch (package-gc.ts). */
  packageGc?: { markUsed(ids: Iterable<string>): void; schedule(): void };
  /** Helpers started at once: a start holds its slot from writing the attempt directory until the
   * helper answers on its socket (first status) or is gone; more wait their turn (start-gate.ts).
   * @default 4 (DEFAULT_MAX_CONCURRENT_STARTS) */
  maxConcurrentStarts?: number;
  /** Attempts one helper process runs (helper-pool.ts); 1: a process per attempt.
   * @default 8 (DEFAULT_TASKS_PER_HELPER) */
  tasksPerHelper?: number;
  /** Service dependencies (`uses`, services/local-services.ts): a start waits while `hold` says why;
   * `wiring` gives the task its services' local addresses. @default none held */
  services?: { hold(a: Assignment): string | null; wiring(a: Assignment, workDir: string): ServiceWiring };
  /** Where secret values wait for their helper: a tmpfs (../helper/secrets-dir.ts). @default /dev/shm/tiffin-UID */
  secretsRoot?: string;
}

interface Entry extends LocalAttempt {
  job: string;
  index: number;
  dir: string;
  ports: Record<string, number>;
  graceMs: number;
  /** A planned stop's wait after the endpoint's removal (stopDelayOf), for a task that serves. */
  stopDelayMs: number;
  /** The planned stop waiting out stopDelayMs. */
  delayedStop?: NodeJS.Timeout;
  /** Package ids the attempt pins (garbage collection keeps them). */
  pins: string[];
  link: HelperLink | null;
  status: HelperStatus | null;
  finalQueued: boolean;
  /** The stop under way is the server's wish (see stop()). */
  deliberate?: boolean;
  /** Frees the attempt's start slot (StartGate) once its helper answered or is gone; null: none held. */
  releaseStart: (() => void) | null;
}

/** Runs and watches the attempts of this host. */
export class AttemptManager {
  readonly #d: AttemptManagerDeps;
  readonly #entries = new Map<string, Entry>();
  /** Attempts handled to the end (or refused) whose ids must not start again. */
  readonly #known = new Set<string>();
  /** Attempts waiting on startAfter whose packages are being (or were) fetched ahead of the start. */
  readonly #prefetched = new Set<string>();
  #desired: Assignment[] | null = null;
  /** Starts held for their services, with the reason last reported. */
  #held = new Map<string, string>();
  #wake: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #gate: StartGate;
  readonly #pool: HelperPool;

  constructor(deps: AttemptManagerDeps) {
    this.#d = deps;
    this.#gate = new StartGate(deps.maxConcurrentStarts ?? DEFAULT_MAX_CONCURRENT_STARTS);
    this.#pool = new HelperPool(path.join(deps.dataDir, "helper"), deps.tasksPerHelper ?? DEFAULT_TASKS_PER_HELPER);
  }

  /** The shared helper processes this agent started and how many attempts each runs (bench, tests). */
  helperProcesses(): { pid: number; attempts: number }[] {
    return this.#pool.processes();
  }

  /** Directory of an attempt (whether or not it exists). */
  dirOf(id: string): string {
    return path.join(attemptsRoot(this.#d.dataDir), id);
  }

  /** Attempts not yet ended. */
  live(): string[] {
    return [...this.#entries.values()].filter((e) => !e.ended).map((e) => e.id);
  }

  /** Attempts whose task runs now, with their ports and the spec they were assigned (the metrics scraper). */
  running(): { id: string; ports: Record<string, number>; spec: JobSpec; startedAt: number | null }[] {
    const specs = new Map((this.#desired ?? []).map((a) => [a.attempt.id, a.spec]));
    const out: { id: string; ports: Record<string, number>; spec: JobSpec; startedAt: number | null }[] = [];
    for (const e of this.#entries.values()) {
      const state = e.status?.state;
      const spec = specs.get(e.id);
      if (!e.ended && spec && (state === "running" || state === "healthy" || state === "unhealthy")) out.push({ id: e.id, ports: e.ports, spec, startedAt: e.status?.startedAt ?? null });
    }
    return out;
  }

  /** Package ids pinned by attempts that run, start, or wait to start here: garbage collection must
   * keep them (a fetch for a starting attempt may be in progress). */
  packagesInUse(): Set<string> {
    const ids = new Set<string>();
    for (const e of this.#entries.values()) if (!e.ended) for (const id of e.pins) ids.add(id);
    for (const a of this.#desired ?? []) {
      if (a.attempt.desired === "stop" || isTerminal(a.attempt.state)) continue;
      for (const p of a.spec.pinned ?? []) ids.add(p.id);
    }
    return ids;
  }

  /** Tasks (`job/index`) with an attempt that runs, starts, or is assigned here: their persisted
   * state must stay (state-gc.ts). */
  tasksInUse(): Set<string> {
    const tasks = new Set<string>();
    for (const e of this.#entries.values()) if (!e.ended) tasks.add(`${e.job}/${e.index}`);
    for (const a of this.#desired ?? []) {
      if (a.attempt.desired === "stop" || isTerminal(a.attempt.state)) continue;
      tasks.add(`${a.attempt.job}/${a.attempt.index}`);
    }
    return tasks;
  }

  /** Picks up what a previous agent left: live helpers are reconnected, final statuses reported. */
  async adopt(): Promise<void> {
    for (const s of await scanAttempts(this.#d.dataDir)) {
      if (s.reported || !s.config) {
        this.#known.add(s.id);
        if (!s.reported) this.#setAside(s.id, s.bad.length > 0 ? s.bad : ["attempt.json missing"]);
        continue;
      }
      if (s.bad.length > 0) this.#d.log.warn({ attemptId: s.id, dir: s.dir, problems: s.bad }, "attempt directory has unusable files; adopting with what is left");
      const e = this.#newEntry(s.id, s.config.job, s.config.index, s.assignment);
      e.ports = { ...s.config.ports };
      e.graceMs = s.config.stop.graceMs;
      this.#d.ports.hold(s.id, e.ports);
      this.#d.log.info({ attemptId: s.id, helperPid: s.helperPid, state: s.status?.state ?? null }, "adopting attempt");
      // A helper writes its pid first thing: without one, only a helper started a moment ago could be alive.
      e.link = this.#link(e, s.helperPid, s.config.fenceMs, 2000);
      if (s.helperPid !== null && helperAlive(s.helperPid, s.dir)) this.#pool.adopt(s.helperPid, readCmdline(s.helperPid), s.dir);
    }
  }

  /** An attempt directory that cannot be adopted (its attempt.json unusable): logged with why, reported
   * failed (a live helper there fences itself, unpinged), and nothing is ever started from it. */
  #setAside(id: string, problems: string[]): void {
    this.#d.log.warn({ attemptId: id, dir: this.dirOf(id), problems }, "skipping attempt directory: its files are unusable");
    this.#d.reporter.report(update(id, { state: "failed", reason: `agent could not read the attempt back: ${problems.join("; ")}`, endedAt: Date.now() }, {}));
  }

  /** Applies a full desired set (an assignments event). */
  reconcile(desired: Assignment[]): void {
    if (this.#closed) return;
    this.#desired = desired;
    if (this.#wake) clearTimeout(this.#wake);
    this.#wake = null;
    const plan = planReconcile(desired, this.#entries, this.#known, Date.now());
    const held = new Map<string, string>();
    for (const a of plan.start) {
      const why = this.#d.services?.hold(a) ?? null;
      if (why === null) void this.#start(a);
      else held.set(a.attempt.id, why);
    }
    // A held start stays pending, its reason reported once per change (`tiffin status` shows it).
    for (const [id, why] of held) {
      if (this.#held.get(id) === why) continue;
      this.#d.log.info({ attemptId: id, reason: why }, "start held");
      this.#d.reporter.report(update(id, { state: "pending", reason: why }, {}));
    }
    this.#held = held;
    const waiting = new Set(plan.waiting.map((a) => a.attempt.id));
    for (const id of this.#prefetched) if (!waiting.has(id)) this.#prefetched.delete(id);
    for (const a of plan.waiting) this.#prefetch(a);
    for (const s of plan.stop) this.#plannedStop(s.id, s.reason);
    for (const f of plan.fail) {
      this.#known.add(f.id);
      this.#d.log.warn({ attemptId: f.id, reason: f.reason }, "reporting attempt as failed");
      this.#d.reporter.report(update(f.id, { state: f.state, reason: f.reason, endedAt: Date.now() }, {}));
    }
    if (plan.wakeAt !== null) {
      this.#wake = setTimeout(() => this.#desired && this.reconcile(this.#desired), Math.max(0, plan.wakeAt - Date.now()) + 5);
    }
  }

  /** Looks again at starts held for their services (endpoints or a proxy came). */
  retryHeld(): void {
    if (this.#held.size > 0 && this.#desired) this.reconcile(this.#desired);
  }

  /** A stop the server asked for. A task that serves (running or healthy) has just lost its endpoint
   * (the server removes it as it decides the stop): the signal waits its stopDelayMs, so clients that
   * still had the address stop sending first. Any other task stops at once. */
  #plannedStop(id: string, reason: string): void {
    const e = this.#entries.get(id);
    if (!e || e.ended || e.stopping !== null || e.delayedStop !== undefined) return;
    const serving = e.status?.state === "running" || e.status?.state === "healthy";
    if (!serving || e.stopDelayMs <= 0) return this.stop(id, reason, true);
    this.#d.log.info({ attemptId: id, delayMs: e.stopDelayMs }, "stop delayed after endpoint removal");
    e.delayedStop = setTimeout(() => {
      delete e.delayedStop;
      this.stop(id, reason, true);
    }, e.stopDelayMs);
  }

  /** Stops the server-unreachable attempts whose policy says so; returns when to check again. */
  checkDisconnect(lastContact: number): number | null {
    const plan = planDisconnectStops(this.#entries.values(), lastContact, Date.now());
    for (const s of plan.stop) {
      this.#d.log.warn({ attemptId: s.id, lastContact }, "stopping attempt: server unreachable past its disconnect policy");
      this.stop(s.id, s.reason);
    }
    return plan.nextCheckAt;
  }

  /** Tells an attempt's helper to stop its task. `deliberate`: the server asked for it (desired stop,
   * gone from the host's set), so its end is reported as "stopped"; otherwise (disconnect policy,
   * agent shutdown) as "failed". */
  stop(id: string, reason: string, deliberate = false): void {
    const e = this.#entries.get(id);
    if (!e || e.ended || e.stopping !== null) return;
    clearTimeout(e.delayedStop);
    delete e.delayedStop;
    e.stopping = reason;
    e.deliberate = deliberate;
    this.#d.log.info({ attemptId: id, reason }, "stopping attempt");
    e.link?.send(stopMessage(reason, deliberate));
  }

  /** Stops every live attempt and waits until all have ended and been reported, up to `timeoutMs`. */
  async stopAll(reason: string, timeoutMs: number): Promise<boolean> {
    for (const id of this.live()) this.stop(id, reason);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.live().length === 0) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.live().length === 0;
  }

  /** Longest stop grace among live attempts. */
  maxGraceMs(): number {
    return Math.max(0, ...[...this.#entries.values()].filter((e) => !e.ended).map((e) => e.graceMs));
  }

  /** Announces a planned absence to every helper (agent upgrade). */
  setAwayUntil(at: number): void {
    for (const e of this.#entries.values()) e.link?.setAwayUntil(at);
  }

  /** Drops every helper connection; helpers and tasks keep running. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#wake) clearTimeout(this.#wake);
    for (const e of this.#entries.values()) clearTimeout(e.delayedStop);
    await Promise.all([...this.#entries.values()].map((e) => e.link?.close()));
  }

  /** Deletes ended, reported attempt directories beyond the newest few per task. */
  async cleanup(): Promise<string[]> {
    const scanned = await scanAttempts(this.#d.dataDir);
    const dirs = scanned
      .filter((s) => s.config !== null)
      .map((s) => ({ id: s.id, job: s.config!.job, index: s.config!.index, createdAt: s.createdAt, done: s.reported && !this.#entries.has(s.id) }));
    const doomed = planCleanup(dirs, this.#d.keepPerTask ?? 3);
    for (const id of doomed) {
      await removeSandbox(this.dirOf(id));
      removeSecrets(secretsDirOf(this.#d.secretsRoot ?? defaultSecretsRoot(), this.dirOf(id)));
      await fs.promises.rm(this.dirOf(id), { recursive: true, force: true });
      this.#d.log.info({ attemptId: id }, "deleted old attempt directory");
    }
    return doomed;
  }

  /** `a`: the assignment, received now or read back from assignment.json (only what both check). */
  #newEntry(id: string, job: string, index: number, a: EntryAssignment | null): Entry {
    const e: Entry = {
      id,
      job,
      index,
      dir: this.dirOf(id),
      ended: false,
      stopping: null,
      stopAfterMs: a?.spec.disconnect.stopAfterMs ?? null,
      ports: {},
      graceMs: a?.spec.stop.graceMs ?? 10_000,
      stopDelayMs: a ? stopDelayOf(a.spec) : 0,
      pins: (a?.spec.pinned ?? []).map((p) => p.id),
      link: null,
      status: null,
      finalQueued: false,
      releaseStart: null,
    };
    this.#entries.set(id, e);
    return e;
  }

  async #start(a: Assignment): Promise<void> {
    const { attempt } = a;
    const e = this.#newEntry(attempt.id, attempt.job, attempt.index, a);
    const log = this.#d.log.child({ attemptId: attempt.id, task: `${attempt.job}/${attempt.index}` });
    const isolation = this.#d.sandboxFor?.(a) ?? { sandbox: null };
    if ("refused" in isolation) return this.#failStart(e, isolation.refused);
    if (isolation.notice) log.warn({ notice: isolation.notice }, isolation.sandbox === null ? "task runs unsandboxed" : "notice for the task (in its stderr log)");
    let packages: Record<string, string> = {};
    if ((a.spec.pinned ?? []).length > 0) {
      const got = this.#d.packages ? await this.#d.packages.prepare(a.spec.pinned ?? []) : { error: "this agent has no package cache" };
      if ("error" in got) return this.#failStart(e, `packages could not be prepared: ${got.error}`);
      packages = got.paths;
      this.#d.packageGc?.markUsed(e.pins);
      this.#d.packageGc?.schedule();
    }
    const ports = await this.#d.ports.allocate(attempt.id, a.spec.ports);
    if (!ports) return this.#failStart(e, "no free port in the agent's port range");
    e.ports = ports;
    // Packages and ports above need no slot; from here on a start costs this process and the machine.
    const release = await this.#gate.acquire();
    if (this.#closed) return release(); // never started: a new agent gets the assignment again
    e.releaseStart = release;
    try {
      const kept = await adoptStickyWork(this.#d.dataDir, a, e.dir, (id) => this.#entries.get(id)?.ended === false);
      if (kept !== null) log.info({ from: kept }, "work directory kept from the task's previous attempt");
      const services = this.#d.services?.wiring(a, helperPaths(e.dir).work);
      // Secret values go to a tmpfs, never into the attempt directory (issue 17).
      const secrets = secretValues(a);
      const secretsDir = secrets === null ? undefined : secretsDirOf(this.#d.secretsRoot ?? defaultSecretsRoot(), e.dir);
      if (secrets !== null && secretsDir !== undefined) writeSecrets(secretsDir, secrets);
      const config = helperConfig(a, { ports, hostName: this.#d.hostName, fenceMs: this.#d.fenceMs(), agentEnv: process.env, sandbox: isolation.sandbox, packages, ...(isolation.runAs ? { runAs: isolation.runAs } : {}), ...(secretsDir !== undefined ? { secretsDir } : {}), ...(isolation.notice ? { notice: isolation.notice } : {}), ...(services ? { services } : {}) });
      await createAttemptDir(e.dir, config, a);
      if (e.stopping !== null) return this.#failStart(e, `${e.stopping} (before it started)`, e.deliberate === true ? "stopped" : "failed");
      const command = this.#d.helperCommand;
      const spawned = await this.#pool.launch(typeof command === "function" ? command() : command, e.dir);
      if ("error" in spawned) return this.#failStart(e, `helper could not start: ${spawned.error}`);
      log.info({ helperPid: spawned.pid, ports }, "started helper");
      this.#d.reporter.report(update(e.id, { state: "starting" }, ports));
      e.link = this.#link(e, spawned.pid, config.fenceMs);
      // A helper that neither answers nor dies (its socket never appears) gives its slot up anyway.
      setTimeout(() => this.#startDone(e), 15_000).unref();
      if (e.stopping !== null) e.link.send(stopMessage(e.stopping, e.deliberate === true));
    } catch (err) {
      this.#failStart(e, `attempt could not be prepared: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Starts fetching the packages of an attempt that waits on its startAfter (a restart's back-off), so
   * they are in the cache when it may start; an attempt due now fetches them first thing in #start. */
  #prefetch(a: Assignment): void {
    const pins = a.spec.pinned ?? [];
    if (pins.length === 0 || !this.#d.packages || this.#prefetched.has(a.attempt.id)) return;
    this.#prefetched.add(a.attempt.id);
    const id = a.attempt.id;
    void this.#d.packages.prepare(pins).then((r) => {
      if ("error" in r) this.#d.log.warn({ attemptId: id, error: r.error }, "prefetching packages failed (retried when the attempt starts)");
      else this.#d.log.info({ attemptId: id, packages: pins.map((p) => `${p.name}:${p.version}`) }, "packages prefetched");
      this.#d.packageGc?.schedule();
    });
  }

  /** The attempt's helper is up (or gone, or never started): the next start may go. */
  #startDone(e: Entry): void {
    const release = e.releaseStart;
    e.releaseStart = null;
    release?.();
  }

  #failStart(e: Entry, reason: string, state: "failed" | "stopped" = "failed"): void {
    this.#startDone(e);
    if (state === "failed") this.#d.log.error({ attemptId: e.id, reason }, "attempt failed to start");
    this.#final(e, { ...emptyStatus(e.id), state, reason, endedAt: Date.now() });
  }

  #link(e: Entry, helperPid: number | null, fenceMs: number, startTimeoutMs = 15_000): HelperLink {
    return new HelperLink({
      startTimeoutMs,
      dir: e.dir,
      helperPid,
      pingMs: Math.max(100, Math.floor(fenceMs / 4)),
      onStatus: (s) => this.#onStatus(e, s),
      onGone: (s) => {
        this.#startDone(e);
        if (s && isTerminal(s.state)) return this.#onStatus(e, s);
        const killed = killOrphanTask(s?.pid ?? null, e.id);
        // The helper cannot clean up its sandbox any more (container state, cgroup): do it for it.
        void removeSandbox(e.dir);
        // Nor its secrets' tmpfs dir (secret files, a sandbox's config.json with the env), which it
        // removes only when its task ends: left to cleanup(), they would stay until the attempt's
        // directory is pruned, which may be never.
        removeSecrets(secretsDirOf(this.#d.secretsRoot ?? defaultSecretsRoot(), e.dir));
        this.#d.log.error({ attemptId: e.id, lastState: s?.state ?? null, orphanKilled: killed }, "helper died without a final status");
        this.#final(e, { ...(s ?? emptyStatus(e.id)), state: "failed", reason: "helper died", endedAt: Date.now() });
      },
    });
  }

  #onStatus(e: Entry, s: HelperStatus): void {
    this.#startDone(e);
    if (isTerminal(s.state)) return this.#final(e, s);
    if (e.ended) return;
    const changed = e.status?.state !== s.state || e.status?.pid !== s.pid;
    e.status = s;
    if (changed) this.#d.log.info({ attemptId: e.id, state: s.state, pid: s.pid }, "attempt status");
    this.#d.reporter.report(update(e.id, s, e.ports));
  }

  /** Records a final status: report it, then ack the helper and mark the directory once accepted. */
  #final(e: Entry, s: HelperStatus): void {
    e.status = s;
    e.ended = true;
    if (e.finalQueued) return;
    e.finalQueued = true;
    this.#d.ports.release(e.id);
    this.#d.log.info({ attemptId: e.id, state: s.state, exitCode: s.exitCode, signal: s.signal, reason: s.reason }, "attempt ended");
    this.#d.reporter.report(update(e.id, s, e.ports), () => {
      e.link?.send({ type: "ack" });
      this.#pool.release(e.dir);
      const link = e.link;
      e.link = null;
      void link?.close();
      fs.writeFile(path.join(e.dir, Files.reported), "", { mode: 0o600 }, () => {});
      this.#entries.delete(e.id);
      this.#known.add(e.id);
    });
  }
}

function emptyStatus(id: string): HelperStatus {
  return { attemptId: id, state: "pending", helperPid: 0, pid: null, exitCode: null, signal: null, reason: null, startedAt: null, endedAt: null };
}

function update(id: string, s: Partial<HelperStatus>, ports: Record<string, number>): AttemptUpdate {
  return {
    id,
    state: s.state ?? "pending",
    pid: s.pid ?? null,
    exitCode: s.exitCode ?? null,
    signal: s.signal ?? null,
    reason: s.reason ?? null,
    ...(s.incurable === true ? { incurable: true } : {}),
    ...(s.endCause ? { endCause: s.endCause } : {}),
    ports: { ...ports },
    startedAt: s.startedAt ?? null,
    endedAt: s.endedAt ?? null,
    ...(s.usage ? { usage: s.usage } : {}),
  };
}

/** The stop message for a helper (`deliberate` only when set, as older helpers expect). */
function stopMessage(reason: string, deliberate: boolean): AgentMessage {
  return deliberate ? { type: "stop", reason, deliberate: true } : { type: "stop", reason };
}
