// The attempts one helper process runs. A process runs one attempt (`main.ts DIR`) or, shared, up to K
// (pool.ts): each attempt keeps its own directory, socket, fence, log sinks, health check and status
// file (a Supervisor each); what belongs to the process is here: its signal and crash handlers. Those
// are process-wide by nature, so they act on every attempt the process runs: SIGTERM stops them all,
// and a crash kills every task at once (the process cannot know which attempt threw) before it exits.
import fs from "node:fs";
import path from "node:path";
// Model files by name, not index.ts: the index loads the zod schemas, which the helper must not (checks.ts).
import { systemClock } from "../model/clock.ts";
import { PrivateModes } from "../model/private-dir.ts";
import type { Clock } from "../model/index.ts";
import { parseHelperConfig } from "./config.ts";
import { helperPaths } from "./paths.ts";
import { writeStatusFile } from "./status.ts";
import { Supervisor } from "./supervisor.ts";
import { helperLog } from "./log.ts";

/** Knobs for tests; the CLI uses the defaults. */
export interface HelperOptions {
  /** @default systemClock */
  clock?: Clock;
  /** How long a helper whose task ended waits for an ack before it exits anyway. @default 60000 */
  lingerMs?: number;
}

/** Runs attempts in this process; see the top of this file. */
export class AttemptHost {
  readonly #clock: Clock;
  readonly #lingerMs: number;
  readonly #sups = new Set<Supervisor>();
  #running = 0;

  constructor(options: HelperOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#lingerMs = options.lingerMs ?? 60_000;
  }

  /** Attempts taken and not yet done (a bad attempt.json counts until it is written off). */
  get running(): number {
    return this.#running;
  }

  /** Attempts taken whose task may still run: not yet at their final status (an ended attempt that
   * waits for its ack holds no task, so a shared process counts it out when it admits a new one). */
  get live(): number {
    return this.#running - [...this.#sups].filter((s) => s.final).length;
  }

  /**
   * Runs the attempt of directory `dir` until it is done; resolves with the exit code a process running
   * only it should end with: 0 when the attempt ran (whatever its outcome), 1 when the helper itself
   * failed, 2 for a bad attempt.json.
   */
  async run(dir: string): Promise<number> {
    this.#running++;
    try {
      return await this.#run(dir);
    } finally {
      this.#running--;
    }
  }

  async #run(dir: string): Promise<number> {
    const clock = this.#clock;
    const paths = helperPaths(dir);
    fs.writeFileSync(paths.pid, `${process.pid}\n`, { mode: PrivateModes.file });
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(paths.config, "utf8"));
    } catch (e) {
      return badConfig(paths.status, path.basename(paths.dir), [`reading ${paths.config}: ${String(e)}`], clock);
    }
    const cfg = parseHelperConfig(parsed);
    if (!cfg.ok) {
      const id = typeof (parsed as { attemptId?: unknown } | null)?.attemptId === "string" ? (parsed as { attemptId: string }).attemptId : path.basename(paths.dir);
      return badConfig(paths.status, id, cfg.problems, clock);
    }
    const sup = new Supervisor(paths, cfg.config, clock, this.#lingerMs);
    this.#sups.add(sup);
    try {
      return await sup.run();
    } catch (e) {
      this.crash(e);
      return 1;
    } finally {
      this.#sups.delete(sup);
    }
  }

  /** SIGTERM/SIGINT to the process: every attempt stops its task, then the process exits. */
  terminate(): void {
    for (const sup of this.#sups) sup.terminate();
  }

  /** Last resort when the process is crashing: no task may outlive it, so every one is killed now. */
  crash(err: unknown): never {
    helperLog.error(`crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    for (const sup of this.#sups) sup.crash(err);
    process.exit(1);
  }

  /** Routes the process's signals and uncaught errors to this host; returns the undo. */
  installProcessHandlers(): () => void {
    const onSignal = (): void => this.terminate();
    const onCrash = (err: unknown): void => this.crash(err);
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    process.on("uncaughtException", onCrash);
    process.on("unhandledRejection", onCrash);
    return () => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      process.off("uncaughtException", onCrash);
      process.off("unhandledRejection", onCrash);
    };
  }
}

function badConfig(statusPath: string, attemptId: string, problems: string[], clock: Clock): number {
  helperLog.error(`cannot start ${attemptId}: ${problems.join("; ")}`);
  writeStatusFile(statusPath, {
    attemptId,
    state: "failed",
    helperPid: process.pid,
    pid: null,
    exitCode: null,
    signal: null,
    reason: `start failed: ${problems.join("; ")}`,
    startedAt: null,
    endedAt: clock.now(),
  });
  return 2;
}
