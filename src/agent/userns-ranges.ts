// Which host id range a sandboxed task's user namespace maps to (issue 17: task-to-task isolation).
// Each job of a namespace (its job id, `web.team-a`) gets a range of 65536 host ids of its own on an
// agent, as Kubernetes gives each pod one: two jobs are two users on the host, so neither can touch
// what the other made in a writable mount both are allowed, nor signal or trace the other. Per job and
// not per task: a job's replicas run the same spec with the same secrets and share data by design (a
// writable mount they all use); a range per replica would split what they are meant to share, and buy
// nothing against a replica of the same job.
//
// The choice is pure (assignRange, tables in userns-ranges.test.ts); userns-store.ts keeps the table in
// the agent's data dir. A job keeps its range for as long as the agent's table remembers it (also
// after it left the host: its files in a writable mount stay its own if it comes back); a range is
// only taken from another job when every never-used range is gone (17,508 per agent), and never from
// one that has anything left on the host (an attempt directory, a persisted state dir) or used its
// range in the last `graceMs`.
import { USERNS_HOST_BASE, USERNS_POOL_END, USERNS_RANGE_SIZE } from "../helper/protocol.ts";

/** A range of host ids, `start` included, `start + count` not. */
export interface IdRange {
  start: number;
  count: number;
}

/** One job's range: slot k starts at USERNS_HOST_BASE + k * USERNS_RANGE_SIZE. */
export interface RangeEntry {
  slot: number;
  /** When a start last asked for it (epoch ms). */
  usedAt: number;
}

/** Job id -> its range. */
export type RangeTable = Readonly<Record<string, RangeEntry>>;

/** Slot 0 is the range every task shared before (attempts of older agents may still run in it): never given out. */
export const FirstSlot = 1;
/** The last slot whose range ends below USERNS_POOL_END. */
export const LastSlot = Math.floor((USERNS_POOL_END - USERNS_HOST_BASE) / USERNS_RANGE_SIZE) - 1;

/** The first host id of a slot's range. */
export function slotBase(slot: number): number {
  return USERNS_HOST_BASE + slot * USERNS_RANGE_SIZE;
}

/** Whether a slot's range overlaps none of `reserved` (the host's /etc/subuid and /etc/subgid ranges). */
export function slotUsable(slot: number, reserved: readonly IdRange[]): boolean {
  const start = slotBase(slot);
  const end = start + USERNS_RANGE_SIZE;
  return !reserved.some((r) => r.start < end && start < r.start + r.count);
}

/** What assignRange needs besides the table. */
export interface RangeContext {
  now: number;
  /** Host ranges no slot may overlap. */
  reserved: readonly IdRange[];
  /** Whether a job still has anything on this host (a live or kept attempt directory, a state dir). */
  busy: (job: string) => boolean;
  /** A job that used its range this recently keeps it, busy or not (a start between its range and its
   * attempt directory). @default 1 hour */
  graceMs?: number;
  /** Slots to give out, inclusive (tests make the pool small). @default FirstSlot..LastSlot */
  slots?: { first: number; last: number };
  /** Makes a slot this agent's on the host, or says another agent has it (userns-claims.ts); asked,
   * in order, only of a slot about to be given, so a true is a claim made. @default always true */
  claim?: (slot: number) => boolean;
}

/** The outcome: the job's slot and the new table (`reclaimed`: the job whose slot it was), or none left. */
export type RangeDecision = { slot: number; table: RangeTable; reclaimed: string | null } | { exhausted: true };

/** The range of `job`: its own if it has one, else the lowest never-given slot, else the slot of the job
 * unused longest that has nothing left here. Pure. */
export function assignRange(table: RangeTable, job: string, ctx: RangeContext): RangeDecision {
  const claim = ctx.claim ?? ((): boolean => true);
  const own = table[job];
  if (own !== undefined && claim(own.slot)) return { slot: own.slot, table: { ...table, [job]: { slot: own.slot, usedAt: Math.max(own.usedAt, ctx.now) } }, reclaimed: null };
  // Its range is another agent's on this host (two agents that shared ranges before claims): a new one.
  if (own !== undefined) {
    const rest: Record<string, RangeEntry> = { ...table };
    delete rest[job];
    table = rest;
  }
  const { first, last } = ctx.slots ?? { first: FirstSlot, last: LastSlot };
  const taken = new Set(Object.values(table).map((e) => e.slot));
  for (let slot = first; slot <= last; slot++) {
    if (!taken.has(slot) && slotUsable(slot, ctx.reserved) && claim(slot)) return { slot, table: { ...table, [job]: { slot, usedAt: ctx.now } }, reclaimed: null };
  }
  const graceMs = ctx.graceMs ?? 3_600_000;
  const candidates = Object.entries(table)
    .filter(([, e]) => e.slot >= first && e.slot <= last && ctx.now - e.usedAt >= graceMs && slotUsable(e.slot, ctx.reserved))
    .sort(([a, x], [b, y]) => x.usedAt - y.usedAt || (a < b ? -1 : 1));
  for (const [old, e] of candidates) {
    if (ctx.busy(old) || !claim(e.slot)) continue;
    const next: Record<string, RangeEntry> = { ...table, [job]: { slot: e.slot, usedAt: ctx.now } };
    delete next[old];
    return { slot: e.slot, table: next, reclaimed: old };
  }
  return { exhausted: true };
}

/** The ranges of /etc/subuid or /etc/subgid (`name:start:count` lines; others ignored). Pure. */
export function parseSubIds(text: string): IdRange[] {
  const out: IdRange[] = [];
  for (const line of text.split("\n")) {
    const m = /^[^:#\s][^:]*:(\d+):(\d+)\s*$/.exec(line.trim());
    if (m) out.push({ start: Number(m[1]), count: Number(m[2]) });
  }
  return out;
}
