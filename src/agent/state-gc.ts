// Garbage collection of persisted task state (DATA/state/JOB/INDEX: a task's private /var and /home,
// spec `persist`). The state outlives the task's attempts on this host so a restart or a return finds
// it; once no attempt of the task has run, started or been assigned here for `keepMs` (the task moved
// for good, its job was scaled down or removed), it goes. When each task was last seen in use is kept
// in DATA/state/last-used.json; a state directory never seen in use counts from the first pass that
// finds it (an agent upgraded onto old state keeps it for a full `keepMs`). The choice is pure
// (planStateGc); the removal re-checks use synchronously first, so a task starting between the plan
// and the removal keeps its state.

import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { z } from "zod";
import { readJsonAs } from "../model/index.ts";
import { taskStateDir } from "./isolation.ts";
import { pruneLayouts } from "./layout-gc.ts";

const lastUsedSchema = z.record(z.string(), z.number());

/** A task as `job/index`, the key of its state. */
export type TaskKey = `${string}/${number}`;

/** The key of a task's state. */
export function taskKey(job: string, index: number): TaskKey {
  return `${job}/${index}`;
}

/** The states to remove (pure): not in use, and last used at least `keepMs` ago. */
export function planStateGc(i: { tasks: readonly TaskKey[]; lastUsed: Readonly<Record<string, number>>; inUse: ReadonlySet<string>; now: number; keepMs: number }): TaskKey[] {
  return i.tasks.filter((t) => !i.inUse.has(t) && i.now - (i.lastUsed[t] ?? i.now) >= i.keepMs).sort();
}

/** Options of StateGc. */
export interface StateGcOptions {
  dataDir: string;
  keepMs: number;
  /** Tasks with an attempt that runs, starts, or is assigned here (`job/index`). */
  inUse: () => ReadonlySet<string>;
  log: Logger;
  now?: () => number;
}

/** The persisted-state collector of one agent. */
export class StateGc {
  readonly #o: StateGcOptions;
  readonly #root: string;
  readonly #usedFile: string;
  #running: Promise<TaskKey[]> | null = null;

  constructor(o: StateGcOptions) {
    this.#o = o;
    this.#root = path.join(o.dataDir, "state");
    this.#usedFile = path.join(this.#root, "last-used.json");
  }

  /** One pass (one at a time): returns the tasks whose state was removed. */
  run(): Promise<TaskKey[]> {
    this.#running ??= this.#run().finally(() => (this.#running = null));
    return this.#running;
  }

  async #run(): Promise<TaskKey[]> {
    const now = this.#o.now?.() ?? Date.now();
    // Layout templates untouched for as long (an hour at least: a start may be using one).
    const layouts = await pruneLayouts(path.join(this.#o.dataDir, "layouts"), now, Math.max(this.#o.keepMs, 3_600_000));
    if (layouts.length > 0) this.#o.log.info({ templates: layouts.length }, "removed layout templates no start used for a while");
    const tasks = await this.#scan();
    if (tasks.length === 0) return [];
    const lastUsed = this.#read();
    const inUse = this.#o.inUse();
    // Seen in use now, or seen for the first time: counts from now.
    for (const t of tasks) if (inUse.has(t) || lastUsed[t] === undefined) lastUsed[t] = now;
    const doomed = planStateGc({ tasks, lastUsed, inUse, now, keepMs: this.#o.keepMs });
    const removed: TaskKey[] = [];
    for (const t of doomed) {
      // Synchronous from the check to the rename: no attempt can start in between (one JS thread).
      if (this.#o.inUse().has(t)) continue;
      const slash = t.lastIndexOf("/");
      const dir = taskStateDir(this.#o.dataDir, t.slice(0, slash), Number(t.slice(slash + 1)));
      const trash = path.join(this.#root, `.gc-${randomBytes(6).toString("hex")}`);
      try {
        fs.renameSync(dir, trash);
      } catch (err) {
        this.#o.log.warn({ task: t, err: String(err) }, "removing a task's persisted state failed");
        continue;
      }
      this.#o.log.info({ task: t, idleMs: now - (lastUsed[t] ?? now), keepMs: this.#o.keepMs }, "removed a task's persisted state: no attempt of it here for longer than --state-keep");
      delete lastUsed[t];
      removed.push(t);
    }
    // Entries of states that no longer exist (removed by hand) are dropped too.
    const kept = Object.fromEntries(Object.entries(lastUsed).filter(([t]) => tasks.includes(t as TaskKey) && !removed.includes(t as TaskKey)));
    this.#write(kept);
    for (const name of await fs.promises.readdir(this.#root).catch(() => [] as string[])) {
      if (name.startsWith(".gc-")) await fs.promises.rm(path.join(this.#root, name), { recursive: true, force: true });
    }
    // Job folders left empty.
    for (const job of new Set(removed.map((t) => t.slice(0, t.lastIndexOf("/"))))) await fs.promises.rmdir(path.join(this.#root, job)).catch(() => undefined);
    return removed;
  }

  /** Every `job/index` with a state directory. */
  async #scan(): Promise<TaskKey[]> {
    const out: TaskKey[] = [];
    for (const job of await fs.promises.readdir(this.#root, { withFileTypes: true }).catch(() => [] as fs.Dirent[])) {
      if (!job.isDirectory() || job.name.startsWith(".")) continue;
      for (const index of await fs.promises.readdir(path.join(this.#root, job.name)).catch(() => [] as string[])) {
        if (/^\d+$/.test(index)) out.push(taskKey(job.name, Number(index)));
      }
    }
    return out;
  }

  #read(): Record<string, number> {
    let text: string;
    try {
      text = fs.readFileSync(this.#usedFile, "utf8");
    } catch {
      return {};
    }
    return readJsonAs(lastUsedSchema, text) ?? {};
  }

  #write(used: Record<string, number>): void {
    try {
      const tmp = `${this.#usedFile}.${randomBytes(4).toString("hex")}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(used), { mode: 0o600 });
      fs.renameSync(tmp, this.#usedFile);
    } catch (err) {
      this.#o.log.warn({ err: String(err) }, "recording task state use failed");
    }
  }
}
