// The agent's table of user namespace ranges (userns-ranges.ts decides), in DATA/userns-ranges.json
// (0600, written whole and renamed, before the helper that uses a new range starts), so a restarted or
// upgraded agent gives each job the range its running tasks, kept work dirs and state dirs have. A
// table that cannot be read is set aside and rebuilt from the owners of what is on disk (state dirs,
// attempt work dirs), so no range still in use is given to another job.
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { z } from "zod";
import { readJsonAs } from "../model/index.ts";
import { USERNS_HOST_BASE, USERNS_RANGE_SIZE } from "../helper/protocol.ts";
import { rangesFile } from "./userns-claims.ts";
import type { RangeClaims } from "./userns-claims.ts";
import { assignRange, FirstSlot, LastSlot, parseSubIds, slotBase } from "./userns-ranges.ts";
import type { IdRange, RangeDecision, RangeEntry, RangeTable } from "./userns-ranges.ts";

/** What the table's rebuild reads of an attempt's attempt.json: its job. */
const attemptJob = z.object({ job: z.string() });
const fileSchema = z.object({ version: z.literal(1), jobs: z.record(z.string(), z.object({ slot: z.number().int().min(0), usedAt: z.number() })) });

/** The ranges of the host's /etc/subuid and /etc/subgid (missing files: none). */
export function hostSubIds(files: readonly string[] = ["/etc/subuid", "/etc/subgid"]): IdRange[] {
  return files.flatMap((f) => {
    try {
      return parseSubIds(fs.readFileSync(f, "utf8"));
    } catch {
      return [];
    }
  });
}

/** Why a job got no range: every one is held by a job still on the host, or the table could not be
 * written (a range not on disk could go to another job after a restart). */
export type NoRange = { refused: "exhausted" } | { refused: "unrecorded"; error: string };

/** Options of UsernsRanges. */
export interface UsernsRangesOptions {
  dataDir: string;
  log: Logger;
  /** Host ranges to keep clear of. @default hostSubIds() */
  reserved?: IdRange[];
  now?: () => number;
  /** Slots to give out (tests). @default all */
  slots?: { first: number; last: number };
  /** @default 1 hour (see RangeContext.graceMs) */
  graceMs?: number;
  /** The host-wide claims (several agents on one machine); null: this agent's table alone decides. */
  claims?: RangeClaims | null;
}

/** One agent's ranges. */
export class UsernsRanges {
  readonly #o: UsernsRangesOptions;
  readonly #file: string;
  readonly #reserved: IdRange[];
  #table: RangeTable;

  constructor(o: UsernsRangesOptions) {
    this.#o = o;
    this.#file = rangesFile(o.dataDir);
    this.#reserved = o.reserved ?? hostSubIds();
    this.#table = this.#load();
  }

  /** The first host id of `job`'s range, or why it has none. */
  hostBaseOf(job: string): number | NoRange {
    const now = (this.#o.now ?? Date.now)();
    let d: RangeDecision;
    // Read once per decision, and only when a range must be taken over (every slot given out).
    let jobsOnDisk: Set<string> | null = null;
    const attemptJobs = (): Set<string> => (jobsOnDisk ??= new Set(this.#attempts().map((a) => a.job)));
    try {
      d = assignRange(this.#table, job, {
        now,
        reserved: this.#reserved,
        busy: (other) => this.#busy(other, attemptJobs),
        ...(this.#o.claims ? { claim: (slot: number) => this.#o.claims?.claim(slot) ?? true } : {}),
        ...(this.#o.slots ? { slots: this.#o.slots } : {}),
        ...(this.#o.graceMs !== undefined ? { graceMs: this.#o.graceMs } : {}),
      });
    } catch (e) {
      return { refused: "unrecorded", error: String(e) }; // the claims dir cannot be written
    }
    if ("exhausted" in d) return { refused: "exhausted" };
    const before = this.#table[job];
    const previous = this.#table;
    this.#table = d.table;
    // A start in a burst need not write again: the time matters only to hours (graceMs, reclaim order).
    if (before === undefined || before.slot !== d.slot || now - before.usedAt > 60_000) {
      try {
        this.#save();
      } catch (e) {
        this.#table = previous;
        return { refused: "unrecorded", error: String(e) };
      }
    }
    if (before !== undefined && before.slot !== d.slot) this.#o.log.warn({ job, from: slotBase(before.slot), hostBase: slotBase(d.slot) }, "the job's user id range is another agent's on this machine: the job gets a new one");
    if (d.reclaimed !== null) this.#o.log.warn({ job, from: d.reclaimed, hostBase: slotBase(d.slot) }, "user id range taken over from a job with nothing left on this host");
    if (before === undefined || before.slot !== d.slot) this.#o.log.info({ job, hostIds: `${slotBase(d.slot)}-${slotBase(d.slot) + USERNS_RANGE_SIZE - 1}` }, "user id range for the job's sandboxes");
    return slotBase(d.slot);
  }

  /** A job has something on this host: a state dir, or an attempt directory (live or kept). */
  #busy(job: string, attemptJobs: () => Set<string>): boolean {
    if (safeList(path.join(this.#o.dataDir, "state", job)).length > 0) return true;
    return attemptJobs().has(job);
  }

  #attempts(): { job: string; dir: string }[] {
    const root = path.join(this.#o.dataDir, "attempts");
    let names: string[];
    try {
      names = fs.readdirSync(root);
    } catch {
      return [];
    }
    const out: { job: string; dir: string }[] = [];
    for (const n of names) {
      try {
        const cfg = attemptJob.safeParse(JSON.parse(fs.readFileSync(path.join(root, n, "attempt.json"), "utf8")));
        if (cfg.success) out.push({ job: cfg.data.job, dir: path.join(root, n) });
      } catch {
        // unreadable: the agent reports it failed (saved.ts) and it holds no task
      }
    }
    return out;
  }

  #load(): RangeTable {
    let text: string;
    try {
      text = fs.readFileSync(this.#file, "utf8");
    } catch {
      return this.#rebuild();
    }
    const parsed = readJsonAs(fileSchema, text);
    if (parsed !== null) return parsed.jobs;
    const aside = `${this.#file}.unreadable-${(this.#o.now ?? Date.now)()}`;
    fs.renameSync(this.#file, aside);
    this.#o.log.error({ file: this.#file, aside }, "user id range table unreadable: set aside, rebuilt from the owners of state and work dirs");
    const table = this.#rebuild();
    this.#table = table;
    this.#save();
    return table;
  }

  /** The ranges the files on disk show (no table yet: a new agent, one upgraded from shared ranges, or
   * a lost table). Jobs whose files are in the old shared range get no entry: their next start gives
   * them one, and their state dir moves to it (sandbox-private.ts). */
  #rebuild(): RangeTable {
    const table: Record<string, RangeEntry> = {};
    const now = (this.#o.now ?? Date.now)();
    const note = (job: string, dir: string): void => {
      let uid: number;
      try {
        uid = fs.statSync(dir).uid;
      } catch {
        return;
      }
      const slot = Math.floor((uid - USERNS_HOST_BASE) / USERNS_RANGE_SIZE);
      if (uid < USERNS_HOST_BASE || slot < FirstSlot || slot > LastSlot || table[job] !== undefined) return;
      if (Object.values(table).some((e) => e.slot === slot)) return;
      table[job] = { slot, usedAt: now };
    };
    const stateRoot = path.join(this.#o.dataDir, "state");
    for (const job of safeList(stateRoot)) for (const index of safeList(path.join(stateRoot, job))) note(job, path.join(stateRoot, job, index, "home"));
    for (const a of this.#attempts()) note(a.job, path.join(a.dir, "work"));
    return table;
  }

  #save(): void {
    const tmp = `${this.#file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ version: 1, jobs: this.#table }), { mode: 0o600 });
    fs.renameSync(tmp, this.#file);
  }
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => !n.endsWith(".json") && !n.startsWith("."));
  } catch {
    return [];
  }
}
