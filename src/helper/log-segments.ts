// Naming of log segments: DIR/logs/<stream>.<n>.log.zst, n counting up from 0; higher n is newer.
import fs from "node:fs/promises";
import path from "node:path";

/** The two streams a task writes. */
export type LogStream = "stdout" | "stderr";

/** File name of segment `n` of `stream`. */
export function segmentName(stream: LogStream, n: number): string {
  return `${stream}.${n}.log.zst`;
}

/** Segment number of `name` when it is a segment of `stream`, else null. */
export function segmentIndex(stream: LogStream, name: string): number | null {
  const m = /^(stdout|stderr)\.(\d+)\.log\.zst$/.exec(name);
  return m && m[1] === stream ? Number(m[2]) : null;
}

/** Segment numbers of `stream` present in `logsDir`, oldest first; empty when the dir is missing. */
export async function listSegments(logsDir: string, stream: LogStream): Promise<number[]> {
  let names: string[];
  try {
    names = await fs.readdir(logsDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  return names
    .map((n) => segmentIndex(stream, n))
    .filter((n): n is number => n !== null)
    .sort((a, b) => a - b);
}

/** Path of segment `n`. */
export function segmentPath(logsDir: string, stream: LogStream, n: number): string {
  return path.join(logsDir, segmentName(stream, n));
}

/**
 * Time index of segment `n`: DIR/logs/<stream>.<n>.idx, text lines `<epoch ms> <offset>`, where offset
 * is in the segment's uncompressed bytes. The catcher adds a line for the first write of each window
 * (`indexWindowMs`), so the bytes from one entry's offset to the next were written within a window of
 * its time: `--since` is as precise as that window, and errs on the side of showing a line.
 */
export function indexPath(logsDir: string, stream: LogStream, n: number): string {
  return path.join(logsDir, `${stream}.${n}.idx`);
}

/** How far apart in time two index entries of a segment are at least. */
export const indexWindowMs = 100;

/** One index entry. */
export interface IndexEntry {
  at: number;
  offset: number;
}

/** Parses an index file (a torn last line is ignored). */
export function parseIndex(text: string): IndexEntry[] {
  const out: IndexEntry[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+) (\d+)$/.exec(line);
    if (m) out.push({ at: Number(m[1]), offset: Number(m[2]) });
  }
  return out;
}

/**
 * Where to start reading a segment for lines written at or after `since` (pure): the offset of the first
 * entry whose window reaches `since` (so up to one window of older lines may show), or null when no
 * indexed byte was written that late (skip what the segment holds now).
 */
export function sinceOffset(entries: readonly IndexEntry[], since: number): number | null {
  for (const e of entries) if (e.at + indexWindowMs > since) return e.offset;
  return null;
}

/** The index of segment `n`, or null when it has none (written by an older catcher, or deleted). */
export async function readIndex(logsDir: string, stream: LogStream, n: number): Promise<IndexEntry[] | null> {
  try {
    return parseIndex(await fs.readFile(indexPath(logsDir, stream, n), "utf8"));
  } catch {
    return null;
  }
}
