// Reading log segments back: across segments in order, including the active segment up to its last
// flush (a zstd frame flushed with ZSTD_e_flush decodes incrementally), optionally following new data.
import fs from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import zlib from "node:zlib";
import { helperPaths } from "./paths.ts";
import { listSegments, readIndex, segmentPath, sinceOffset } from "./log-segments.ts";
import type { LogStream } from "./log-segments.ts";
import { isFinalStatus, readStatusFile } from "./status.ts";

/** What to read. */
export interface ReadLogsOptions {
  /** Start with the last `tail` lines instead of from the oldest kept segment. */
  tail?: number;
  /** Keep reading new data until `signal` aborts or the attempt has ended and all was read. */
  follow?: boolean;
  signal?: AbortSignal;
  /** How often follow mode looks for new data. @default 200 */
  pollMs?: number;
  /**
   * Epoch ms: only lines written at or after it, as precise as the segments' time index (0.1 s; a line
   * whose start was written before it is skipped). Segments of an older catcher, without an index, are
   * skipped whole when last written before it.
   */
  since?: number;
}

/** Decodes one segment file incrementally: each call returns what was added since the last one. */
class SegmentDecoder {
  readonly index: number;
  readonly #fh: fs.FileHandle;
  readonly #z = zlib.createZstdDecompress();
  #offset = 0;
  #out: Buffer[] = [];
  #error: Error | null = null;

  private constructor(index: number, fh: fs.FileHandle) {
    this.index = index;
    this.#fh = fh;
    this.#z.on("data", (b: Buffer) => this.#out.push(b));
    this.#z.on("error", (e) => (this.#error = e));
  }

  /** Opens segment `index`; null when it was deleted meanwhile. */
  static async open(logsDir: string, stream: LogStream, index: number): Promise<SegmentDecoder | null> {
    try {
      return new SegmentDecoder(index, await fs.open(segmentPath(logsDir, stream, index), "r"));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  /** Decoded bytes added since the last call, in pieces of bounded size. */
  async *more(): AsyncGenerator<Buffer> {
    const buf = Buffer.alloc(256 * 1024);
    for (;;) {
      const { bytesRead } = await this.#fh.read(buf, 0, buf.length, this.#offset);
      if (bytesRead === 0) return;
      this.#offset += bytesRead;
      this.#z.write(Buffer.from(buf.subarray(0, bytesRead)));
      await new Promise<void>((resolve) => this.#z.flush(() => resolve()));
      if (this.#error) throw this.#error;
      const out = Buffer.concat(this.#out);
      this.#out = [];
      if (out.length > 0) yield out;
    }
  }

  /** Everything added since the last call, as one buffer. */
  async all(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const b of this.more()) parts.push(b);
    return Buffer.concat(parts);
  }

  async close(): Promise<void> {
    // destroy, not end: an unfinished frame at the end is expected, not an error.
    this.#z.destroy();
    await this.#fh.close();
  }
}

/**
 * Where the last `n` lines of `buf` start, or null when `buf` holds fewer than `n` whole lines (the caller
 * then needs older data or takes all). A final newline ends the last line rather than starting an empty one.
 */
export function tailStart(buf: Buffer, n: number): number | null {
  if (n <= 0) return buf.length;
  let pos = buf.length - 1;
  if (buf[pos] === 10) pos--;
  for (let k = 1; k <= n; k++) {
    if (pos < 0) return null;
    const nl = buf.lastIndexOf(10, pos);
    if (nl < 0) return null;
    if (k === n) return nl + 1;
    pos = nl - 1;
  }
  return null;
}

/** Opens the newest segments backwards until `tail` lines are found; returns the text and the newest decoder. */
async function readTail(logsDir: string, stream: LogStream, tail: number): Promise<{ text: Buffer; current: SegmentDecoder | null }> {
  const segs = await listSegments(logsDir, stream);
  const parts: Buffer[] = [];
  let current: SegmentDecoder | null = null;
  for (let i = segs.length - 1; i >= 0; i--) {
    const dec = await SegmentDecoder.open(logsDir, stream, segs[i] as number);
    if (!dec) continue;
    parts.unshift(await dec.all());
    if (current === null) current = dec;
    else await dec.close();
    const text = Buffer.concat(parts);
    const start = tailStart(text, tail);
    if (start !== null) return { text: text.subarray(start), current };
  }
  return { text: Buffer.concat(parts), current };
}

/**
 * Reads `stream` of the attempt in `dir`. Without follow it yields what is there now and ends. With follow
 * it polls for new data and new segments until `signal` aborts or status.json is final and all was read.
 */
export async function* readLogs(dir: string, stream: LogStream, opts: ReadLogsOptions = {}): AsyncGenerator<Buffer> {
  const paths = helperPaths(dir);
  const pollMs = opts.pollMs ?? 200;
  let current: SegmentDecoder | null = null;
  let nextIndex = 0;
  // `since` inside a segment: bytes of that segment to drop first (Infinity: all it holds now), then
  // the rest of a line cut there.
  let skip: { segment: number; bytes: number; toLineEnd: boolean } | null = null;
  const cut = (seg: number, b: Buffer): Buffer => {
    if (skip === null || skip.segment !== seg) return b;
    if (skip.bytes >= b.length) {
      skip.bytes -= b.length;
      return Buffer.alloc(0);
    }
    let rest = b.subarray(skip.bytes);
    skip.bytes = 0;
    if (skip.toLineEnd) {
      const nl = rest.indexOf(10);
      if (nl < 0) return Buffer.alloc(0);
      rest = rest.subarray(nl + 1);
    }
    skip = null;
    return rest;
  };
  try {
    if (opts.since !== undefined) {
      const start = await sinceStart(paths.logs, stream, opts.since);
      nextIndex = start.segment;
      if (start.offset === null || start.offset > 0) skip = { segment: start.segment, bytes: start.offset ?? Infinity, toLineEnd: start.offset !== null };
    }
    if (opts.tail !== undefined) {
      const t = await readTail(paths.logs, stream, opts.tail);
      current = t.current;
      if (current) nextIndex = current.index + 1;
      if (t.text.length > 0) yield t.text;
    }
    for (;;) {
      if (opts.signal?.aborted) return;
      // Read "final" before the data: the helper closes the logs before it writes a final status.
      const finalBefore = opts.follow ? isFinalStatus(readStatusFile(paths.status)) : true;
      const segs = await listSegments(paths.logs, stream);
      if (current === null) {
        const first = segs.find((n) => n >= nextIndex);
        if (first !== undefined) {
          current = await SegmentDecoder.open(paths.logs, stream, first);
          if (!current) continue;
          nextIndex = first + 1;
        }
      }
      if (current) {
        const idx = current.index;
        for await (const b of current.more()) {
          const out = cut(idx, b);
          if (out.length > 0) yield out;
        }
        // "All it holds now" was read: what comes later was written after `since`.
        if (skip?.segment === idx && skip.bytes === Infinity) skip = null;
        if (segs.some((n) => n > (current as SegmentDecoder).index)) {
          // A newer segment exists, so this one was complete before it was created: read its last bytes.
          for await (const b of current.more()) {
            const out = cut(idx, b);
            if (out.length > 0) yield out;
          }
          await current.close();
          current = null;
          continue;
        }
      }
      if (!opts.follow || finalBefore) return;
      try {
        await sleep(pollMs, undefined, opts.signal ? { signal: opts.signal } : {});
      } catch {
        return;
      }
    }
  } finally {
    await current?.close();
  }
}

/**
 * Where lines written at or after `since` start: the newest segment whose first write was not after it
 * (older ones hold only earlier lines), and the offset in it from its time index (null: skip all it holds
 * now). Without indexes (an older catcher), the oldest segment last modified at or after `since`.
 */
async function sinceStart(logsDir: string, stream: LogStream, since: number): Promise<{ segment: number; offset: number | null }> {
  const segs = await listSegments(logsDir, stream);
  let start: { segment: number; offset: number | null } | null = null;
  for (const n of segs) {
    const entries = await readIndex(logsDir, stream, n);
    if (entries === null) {
      const st = await fs.stat(segmentPath(logsDir, stream, n)).catch(() => null);
      if (st && st.mtimeMs >= since) return start ?? { segment: n, offset: 0 };
      continue;
    }
    const first = entries[0];
    if (first === undefined || first.at > since) return start ?? { segment: n, offset: 0 };
    start = { segment: n, offset: sinceOffset(entries, since) };
  }
  return start ?? { segment: (segs[segs.length - 1] ?? -1) + 1, offset: 0 };
}
