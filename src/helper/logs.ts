// The log catcher: a task's stdout and stderr each go into size-rotated zstd segments. A segment is one
// zstd frame, flushed (ZSTD_e_flush) every flushMs when there is new data, so a reader can decode the
// unfinished segment up to the last flush. The catcher never pushes back on the task: the pipe is always
// read, and when compression or the disk falls behind by more than maxBufferedBytes the data is dropped and
// a marker line says how much. Beside each segment a small time index (log-segments.ts, `indexPath`)
// maps write times to offsets, at most one entry per 100 ms, so `--since` can start at a line.
import fs from "node:fs";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import { indexPath, indexWindowMs, listSegments, segmentIndex, segmentPath } from "./log-segments.ts";
import type { LogStream } from "./log-segments.ts";
import { helperLog } from "./log.ts";

export { readLogs, tailStart } from "./log-reader.ts";
export type { ReadLogsOptions } from "./log-reader.ts";
export type { LogStream } from "./log-segments.ts";

/** How one stream's segments are written. */
export interface LogSinkOptions {
  /** The attempt's logs directory (created if missing). */
  logsDir: string;
  stream: LogStream;
  /** Uncompressed bytes per segment before rotation. */
  segmentBytes: number;
  /** Segments kept; older ones are deleted. */
  segmentsKept: number;
  /** Bytes allowed to wait for compression and disk before data is dropped. @default 8 MiB */
  maxBufferedBytes?: number;
  /** How often new data is flushed to the file. @default 250 */
  flushMs?: number;
  /** Keep the time index beside each segment (`--since` by line); off only to measure its cost. @default true */
  timeIndex?: boolean;
}

interface Segment {
  compressor: zlib.ZstdCompress;
  /** Settles when the segment's file is complete and closed. */
  done: Promise<void>;
  /** Its time index file, index entries not written yet, and the appends in flight (in order). */
  indexFile: string;
  entries: string;
  indexing: Promise<void>;
}

/** Writes one stream of a task into rotated, compressed segments. */
export class LogSink {
  readonly #o: Required<LogSinkOptions>;
  #next = -1;
  #current: Segment | null = null;
  /** Settles when the previous segment is closed; the next file is created only then, so a reader that
   * sees segment n+1 knows segment n is complete. */
  #previousDone: Promise<void> = Promise.resolve();
  readonly #open = new Set<Segment>();
  #segmentBytes = 0;
  #lastEntryAt = -Infinity;
  #dirty = false;
  #pendingDrop = 0;
  #droppedTotal = 0;
  #endsWithNewline = true;
  #closed = false;
  readonly #timer: NodeJS.Timeout;

  constructor(opts: LogSinkOptions) {
    this.#o = { maxBufferedBytes: 8 * 1024 * 1024, flushMs: 250, timeIndex: true, ...opts };
    // The task's output is its own business: 0700 and 0600, like the rest of the attempt dir.
    fs.mkdirSync(this.#o.logsDir, { recursive: true, mode: 0o700 });
    this.#timer = setInterval(() => this.#tick(), this.#o.flushMs);
    this.#timer.unref();
  }

  /** Bytes waiting for compression and disk now. */
  get bufferedBytes(): number {
    return this.#buffered();
  }

  /** Bytes dropped so far because writing fell behind. */
  get droppedBytes(): number {
    return this.#droppedTotal;
  }

  /** Accepts a chunk of task output; never blocks, drops when too far behind. */
  write(chunk: Buffer): void {
    if (this.#closed || chunk.length === 0) return;
    if (this.#buffered() + chunk.length > this.#o.maxBufferedBytes) {
      this.#pendingDrop += chunk.length;
      this.#droppedTotal += chunk.length;
      return;
    }
    this.#writeDropMarker();
    this.#append(chunk);
  }

  /** Ends the current segment and waits until every segment file is closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#writeDropMarker();
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#current) this.#rotate();
    await Promise.all([...this.#open].map((s) => s.done));
    await this.#previousDone;
  }

  #buffered(): number {
    let n = 0;
    for (const s of this.#open) n += s.compressor.writableLength + s.compressor.readableLength;
    return n;
  }

  #tick(): void {
    if (this.#pendingDrop > 0 && this.#buffered() < this.#o.maxBufferedBytes / 2) this.#writeDropMarker();
    if (this.#current) this.#writeIndex(this.#current);
    if (this.#dirty && this.#current && !this.#current.compressor.destroyed) {
      this.#dirty = false;
      this.#current.compressor.flush(zlib.constants.ZSTD_e_flush);
    }
  }

  #writeDropMarker(): void {
    if (this.#pendingDrop === 0) return;
    const text = `${this.#endsWithNewline ? "" : "\n"}[tiffin: dropped ${this.#pendingDrop} bytes]\n`;
    this.#pendingDrop = 0;
    this.#append(Buffer.from(text));
  }

  /** Writes into the current segment, cutting at a line end when a chunk crosses the segment size. */
  #append(chunk: Buffer): void {
    this.#endsWithNewline = chunk[chunk.length - 1] === 10;
    let rest = chunk;
    while (rest.length > 0) {
      const seg = this.#current ?? this.#openNext();
      const room = this.#o.segmentBytes - this.#segmentBytes;
      let n = rest.length;
      if (n > room) {
        const nl = rest.lastIndexOf(10, room - 1);
        if (nl >= 0) n = nl + 1;
        else if (this.#segmentBytes > 0) {
          // No line end fits: start the line in a fresh segment rather than cut it.
          this.#rotate();
          continue;
        } else n = room; // a line longer than a whole segment has to be cut
      }
      this.#put(seg, rest.subarray(0, n));
      rest = rest.subarray(n);
      if (rest.length > 0 || this.#segmentBytes >= this.#o.segmentBytes) this.#rotate();
    }
  }

  #put(seg: Segment, data: Buffer): void {
    // One clock read per chunk (a pipe read of up to 64 KiB), not per line.
    const now = this.#o.timeIndex ? Date.now() : 0;
    if (this.#o.timeIndex && now - this.#lastEntryAt >= indexWindowMs) {
      this.#lastEntryAt = now;
      seg.entries += `${now} ${this.#segmentBytes}\n`;
    }
    this.#segmentBytes += data.length;
    this.#dirty = true;
    if (seg.compressor.destroyed) {
      this.#droppedTotal += data.length;
      return;
    }
    seg.compressor.write(data);
  }

  #openNext(): Segment {
    if (this.#next < 0) this.#next = this.#firstIndex();
    const n = this.#next++;
    const compressor = zlib.createZstdCompress();
    // pipeline reports errors; this listener only keeps a late write error from crashing the helper.
    compressor.on("error", () => {});
    const file = segmentPath(this.#o.logsDir, this.#o.stream, n);
    const done = this.#previousDone
      .then(async () => {
        const out = fs.createWriteStream(file, { mode: 0o600 });
        out.once("open", () => void this.#prune(n));
        await pipeline(compressor, out);
      })
      .catch((e: unknown) => {
        compressor.destroy();
        helperLog.warn(`log segment ${file}: ${String(e)}`);
      });
    const seg: Segment = { compressor, done, indexFile: indexPath(this.#o.logsDir, this.#o.stream, n), entries: "", indexing: Promise.resolve() };
    this.#open.add(seg);
    void done.then(() => this.#open.delete(seg));
    this.#current = seg;
    this.#segmentBytes = 0;
    this.#lastEntryAt = -Infinity;
    return seg;
  }

  #rotate(): void {
    const seg = this.#current;
    if (!seg) return;
    this.#current = null;
    this.#segmentBytes = 0;
    this.#writeIndex(seg);
    seg.compressor.end();
    const indexing = seg.indexing;
    this.#previousDone = seg.done.then(() => indexing);
  }

  /** Appends the entries held (asynchronously, in order: a slow disk must not hold up the pipe). */
  #writeIndex(seg: Segment): void {
    if (seg.entries === "") return;
    const text = seg.entries;
    seg.entries = "";
    seg.indexing = seg.indexing.then(() => fs.promises.appendFile(seg.indexFile, text, { mode: 0o600 })).catch((e: unknown) => {
      helperLog.warn(`log index ${seg.indexFile}: ${String(e)}`);
    });
  }

  /** Starts after existing segments so a restarted catcher never overwrites one. */
  #firstIndex(): number {
    let max = -1;
    for (const name of fs.readdirSync(this.#o.logsDir)) max = Math.max(max, segmentIndex(this.#o.stream, name) ?? -1);
    return max + 1;
  }

  async #prune(newest: number): Promise<void> {
    try {
      for (const n of await listSegments(this.#o.logsDir, this.#o.stream)) {
        if (n <= newest - this.#o.segmentsKept) {
          await fs.promises.rm(segmentPath(this.#o.logsDir, this.#o.stream, n), { force: true });
          await fs.promises.rm(indexPath(this.#o.logsDir, this.#o.stream, n), { force: true });
        }
      }
    } catch (e) {
      helperLog.warn(`pruning log segments: ${String(e)}`);
    }
  }
}
