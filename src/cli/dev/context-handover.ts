// Whose cluster the CLI talks to while several `tiffin dev` run: the newest one while it runs, and,
// when it stops, the one it displaced, if that one still runs (a second `tiffin dev` used to leave
// the context pointing at its own stopped server). Pure, tested by a table; dev.ts reads and writes.
import { z } from "zod";
import { readJsonAs } from "../../model/index.ts";

/** The part of a context file devPidOf reads. */
const devPidSchema = z.object({ devPid: z.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

/** The context file's text as `tiffin dev` found it and as it is now (null: no file). */
export interface HandoverInput {
  /** The file before this `tiffin dev` wrote its own. */
  previous: string | null;
  /** The text this `tiffin dev` wrote. */
  ours: string;
  /** The file now, as this `tiffin dev` stops. */
  current: string | null;
  /** Whether the `tiffin dev` that wrote `previous` (its `devPid`) still runs. */
  previousAlive: boolean;
}

/** What to do with the context file when a `tiffin dev` stops. */
export type Handover = { action: "restore"; text: string } | { action: "leave"; why: string };

/** Restores the displaced context when ours is still in force and the displaced cluster still runs. */
export function contextOnStop(i: HandoverInput): Handover {
  if (i.current !== i.ours) return { action: "leave", why: "someone else wrote it since" };
  if (i.previous === null || i.previous === i.ours) return { action: "leave", why: "there was nothing else before" };
  if (!i.previousAlive) return { action: "leave", why: "the tiffin dev it pointed to has stopped" };
  return { action: "restore", text: i.previous };
}

/** The `devPid` a context file's text records (the `tiffin dev` that wrote it), or null. */
export function devPidOf(text: string | null): number | null {
  if (text === null) return null;
  return readJsonAs(devPidSchema, text)?.devPid ?? null;
}
