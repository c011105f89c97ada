// What the agent reads back from an attempt directory (attempt.json, assignment.json, status.json),
// checked before use: a crash or kill -9 mid-write, a full disk or a hand edit can leave any of them
// empty, truncated or of the wrong shape, and a bad file must never crash the agent's start.
// Each schema checks the fields the agent relies on and lets the rest through (loose objects), so a
// newer writer's extra fields still read.

import fs from "node:fs";
import { z } from "zod";
import { AttemptStates } from "../model/index.ts";

const nullableInt = z.number().int().nullable();

/** attempt.json (the helper's HelperConfig): the fields re-adoption and cleanup use. */
export const savedConfigSchema = z.looseObject({
  attemptId: z.string(),
  job: z.string(),
  index: z.number().int().nonnegative(),
  ports: z.record(z.string(), z.number().int()),
  stop: z.looseObject({ signal: z.string(), graceMs: z.number().nonnegative() }),
  fenceMs: z.number().positive(),
});

/** assignment.json (the API's Assignment): the fields an adopted attempt's entry uses (disconnect policy, grace, pins). */
export const savedAssignmentSchema = z.looseObject({
  attempt: z.looseObject({ id: z.string(), job: z.string(), index: z.number().int().nonnegative() }),
  spec: z.looseObject({
    disconnect: z.looseObject({ stopAfterMs: z.number().nonnegative().nullable() }),
    stop: z.looseObject({ graceMs: z.number().nonnegative(), delayMs: z.number().nonnegative().optional() }),
    ports: z.array(z.string()).optional(),
    pinned: z.array(z.looseObject({ id: z.string() })).optional(),
  }),
});

/** status.json (the helper's HelperStatus). */
export const savedStatusSchema = z.looseObject({
  attemptId: z.string(),
  state: z.enum(AttemptStates),
  helperPid: z.number().int(),
  pid: nullableInt,
  exitCode: nullableInt,
  signal: z.string().nullable(),
  reason: z.string().nullable(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
});

/** attempt.json as read back: the fields checked (the rest as written, unchecked, typed unknown). */
export type SavedConfig = z.infer<typeof savedConfigSchema>;
/** assignment.json as read back. */
export type SavedAssignment = z.infer<typeof savedAssignmentSchema>;
/** status.json as read back. */
export type SavedStatus = z.infer<typeof savedStatusSchema>;

/** A file read back: its value, absent (null), or why it cannot be used. */
export type Saved<T> = { value: T | null } | { bad: string };

/** Reads and checks one saved JSON file; a missing file is `{value: null}`, anything unusable `{bad}`. */
export async function readSaved<T>(file: string, schema: z.ZodType<T>): Promise<Saved<T>> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { value: null };
    return { bad: `${file}: unreadable (${err instanceof Error ? err.message : String(err)})` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { bad: `${file}: not JSON (${text.length === 0 ? "empty" : err instanceof Error ? err.message : String(err)})` };
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    return { bad: `${file}: ${first ? `${first.path.join(".") || "(top)"}: ${first.message}` : "invalid"}` };
  }
  // Loose objects: the fields the agent uses are checked, the rest comes through as written.
  return { value: r.data };
}

/** Readers of the three files. */
export const readSavedConfig = (file: string): Promise<Saved<SavedConfig>> => readSaved(file, savedConfigSchema);
/** See readSavedConfig. */
export const readSavedAssignment = (file: string): Promise<Saved<SavedAssignment>> => readSaved(file, savedAssignmentSchema);
/** See readSavedConfig. */
export const readSavedStatus = (file: string): Promise<Saved<SavedStatus>> => readSaved(file, savedStatusSchema);
