// MachineChecker: runs the machine checks every `intervalMs` (the runtime's test container at most
// every `runtimeEveryMs`) and keeps what the server has not been told yet. Only changes go out: the
// first result of each check, then each change of status. A heartbeat carries at most
// MaxChecksPerHost of them; one the server did not take stays pending for the next.
import path from "node:path";
import type { Logger } from "pino";
import type { MachineCheckResult } from "../../model/index.ts";
import { MaxChecksPerHost } from "../../model/index.ts";
import { listScripts, runScript } from "./custom.ts";
import { clockSkewMs, DefaultThresholds, judgeClock, judgeDataDir, judgeDisk, judgeInodes, judgeMemory, judgeRuntime, judgeScript } from "./judge.ts";
import type { CheckThresholds, Verdict } from "./judge.ts";
import { probeWrite, readFs, readPsi } from "./probes.ts";

/** Options of the MachineChecker. */
export interface MachineCheckerOptions {
  /** The agent's data dir: disk, inodes and writability are checked on it. */
  dataDir: string;
  /** Custom check scripts (`--checks-dir`); absent: none. */
  checksDir?: string;
  /** @default 30000 */
  intervalMs?: number;
  /** Each custom script's time limit. @default 10000 */
  scriptTimeoutMs?: number;
  /** The runtime's test container at most this often (it costs a container start). @default 600000 */
  runtimeEveryMs?: number;
  /** The runtime ("crun 1.8.1") and a probe that runs a test container (null: it ran, else why not);
   * null when the host has no runtime (the check is skipped). */
  runtime?: (() => { name: string; probe: () => Promise<string | null> } | null) | undefined;
  thresholds?: Partial<CheckThresholds>;
  /** /proc/pressure/memory, or another file (tests). */
  psiFile?: string;
  log: Logger;
}

/** Runs the checks and keeps the unsent changes (see the file comment). */
export class MachineChecker {
  readonly #o: MachineCheckerOptions;
  readonly #t: CheckThresholds;
  readonly #latest = new Map<string, MachineCheckResult>();
  readonly #unsent = new Map<string, MachineCheckResult>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #skew: { skewMs: number; rttMs: number } | null = null;
  #runtimeAt = 0;
  #runtimeVerdict: Verdict | null = null;
  #closed = false;
  #full = true;
  #passes = 0;

  constructor(o: MachineCheckerOptions) {
    this.#o = o;
    this.#t = { ...DefaultThresholds, ...o.thresholds };
  }

  /** Runs the checks now, then every interval. */
  start(): void {
    const loop = (): void => {
      if (this.#closed) return;
      void this.runOnce().finally(() => {
        if (!this.#closed) this.#timer = setTimeout(loop, this.#o.intervalMs ?? 30_000);
      });
    };
    loop();
  }

  /** Stops the interval (a running pass finishes). */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  /** The latest result of every check, by name. */
  latest(): MachineCheckResult[] {
    return [...this.#latest.values()];
  }

  /** The changes the server has not taken yet, at most MaxChecksPerHost (none before the first pass
   * ended: a complete set must not be sent empty). */
  pending(): MachineCheckResult[] {
    return this.#passes === 0 ? [] : [...this.#unsent.values()].slice(0, MaxChecksPerHost);
  }

  /** True when `pending()` is every check (after a registration): the server forgets the others. */
  complete(): boolean {
    return this.#full && this.#passes > 0;
  }

  /** The server took these: forget them unless a newer result came meanwhile. */
  sent(results: readonly MachineCheckResult[], complete: boolean): void {
    for (const r of results) if (this.#unsent.get(r.name) === r) this.#unsent.delete(r.name);
    if (complete) this.#full = false;
  }

  /** Sends every latest result again, as the complete set (the agent registered: the server may hold
   * checks this agent no longer runs). */
  resendAll(): void {
    for (const r of this.#latest.values()) this.#unsent.set(r.name, r);
    this.#full = true;
  }

  /** A heartbeat answer carried the server's time: the skew against it. */
  serverTime(sentAt: number, receivedAt: number, serverTime: number): void {
    this.#skew = { skewMs: clockSkewMs(sentAt, receivedAt, serverTime), rttMs: receivedAt - sentAt };
  }

  /** One pass over every check (a pass already running is joined). */
  runOnce(): Promise<void> {
    this.#running ??= this.#pass().finally(() => (this.#running = null));
    return this.#running;
  }

  async #pass(): Promise<void> {
    const dir = this.#o.dataDir;
    const now = Date.now();
    const [fsr, write, psi] = await Promise.all([readFs(dir), probeWrite(dir), readPsi(this.#o.psiFile)]);
    this.#record("disk", judgeDisk(dir, fsr, write.readOnly, this.#t), now);
    this.#record("inodes", judgeInodes(dir, fsr, this.#t), now);
    this.#record("datadir", judgeDataDir(dir, write.error), now);
    this.#record("memory", judgeMemory(psi, this.#t), now);
    this.#record("clock", judgeClock(this.#skew?.skewMs ?? null, this.#skew?.rttMs ?? 0, this.#t), now);
    const rt = this.#o.runtime?.() ?? null;
    if (rt === null) this.#record("runtime", judgeRuntime(null, null), now);
    else if (this.#runtimeVerdict === null || now - this.#runtimeAt >= (this.#o.runtimeEveryMs ?? 600_000)) {
      this.#runtimeAt = now;
      const problem = await rt.probe().catch((err: unknown) => String(err));
      this.#runtimeVerdict = judgeRuntime(rt.name, problem);
      this.#record("runtime", this.#runtimeVerdict, Date.now());
    }
    if (this.#o.checksDir !== undefined) await this.#custom(this.#o.checksDir);
    this.#passes++;
  }

  async #custom(dir: string): Promise<void> {
    const timeoutMs = this.#o.scriptTimeoutMs ?? 10_000;
    const scripts = listScripts(dir);
    // Scripts run together: one slow script must not delay the others by its timeout.
    const ends = await Promise.all(scripts.map((s) => runScript(path.join(dir, s), timeoutMs)));
    const now = Date.now();
    scripts.forEach((s, i) => this.#record(`custom:${s}`, judgeScript(s, ends[i]!, timeoutMs), now));
    // A script removed from the dir no longer fails its host.
    for (const name of this.#latest.keys()) {
      if (name.startsWith("custom:") && !scripts.includes(name.slice(7))) this.#record(name, { status: "pass", message: "check script removed" }, now);
    }
  }

  #record(name: string, v: Verdict, at: number): void {
    const prev = this.#latest.get(name);
    const r: MachineCheckResult = { name, status: v.status, message: v.message, at };
    this.#latest.set(name, r);
    if (prev?.status !== v.status) {
      this.#unsent.set(name, r);
      if (prev !== undefined) this.#o.log.info({ check: name, from: prev.status, to: v.status, message: v.message }, "machine check changed");
    }
  }
}
