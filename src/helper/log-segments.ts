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
