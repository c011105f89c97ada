// The task's stdout and stderr as real pipes. Node's `stdio: "pipe"` gives a child one end of a unix
// socket pair, and Linux refuses to open a socket by path: `open("/dev/stdout")` (the most common
// container logging pattern: nginx's `access_log /dev/stdout`) fails with ENXIO ("No such device or
// address"). Node cannot make an anonymous pipe, so each stream is a FIFO made in the attempt
// directory, opened at both ends and unlinked at once: the child gets the write end (a pipe that
// /proc/self/fd/1 reopens), the helper reads the other as a socket-like stream. The FIFO's mode lets a
// sandboxed task of another uid reopen it (only its holders can reach it once unlinked).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { LogStream } from "./log-segments.ts";

/** How long to wait, after the task ended, for a daemonized grandchild still holding the pipes. */
export const pipeDrainMs = 2000;

/** stdout and stderr pipes of one task. */
export class OutputPipes {
  /** The write ends, for the child's fds 1 and 2; closed in the helper by closeWriteEnds(). */
  readonly stdio: ["ignore", number, number];
  readonly #readers: Record<LogStream, net.Socket>;
  readonly #ended: Promise<void>;
  #writeOpen = true;

  private constructor(write: [number, number], read: [number, number]) {
    this.stdio = ["ignore", write[0], write[1]];
    const reader = (fd: number): net.Socket => new net.Socket({ fd, readable: true, writable: false });
    this.#readers = { stdout: reader(read[0]), stderr: reader(read[1]) };
    const ended = (s: net.Socket): Promise<void> =>
      new Promise((resolve) => {
        s.once("end", resolve);
        s.once("close", resolve);
        s.once("error", resolve);
      });
    this.#ended = Promise.all([ended(this.#readers.stdout), ended(this.#readers.stderr)]).then(() => {});
  }

  /** Makes both pipes in `dir` (FIFOs, unlinked before this returns). Throws on I/O errors. */
  static open(dir: string): OutputPipes {
    const names = [path.join(dir, `.stdout-${process.pid}.fifo`), path.join(dir, `.stderr-${process.pid}.fifo`)];
    for (const n of names) fs.rmSync(n, { force: true });
    execFileSync("mkfifo", ["-m", "0622", ...names], { stdio: "ignore" });
    const fds: number[] = [];
    try {
      for (const n of names) {
        // The read end first, non-blocking (no writer yet); then the write end, which needs a reader.
        fds.push(fs.openSync(n, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK));
        fds.push(fs.openSync(n, fs.constants.O_WRONLY));
      }
    } catch (e) {
      for (const fd of fds) fs.closeSync(fd);
      throw e;
    } finally {
      for (const n of names) fs.rmSync(n, { force: true });
    }
    const [r1, w1, r2, w2] = fds as [number, number, number, number];
    return new OutputPipes([w1, w2], [r1, r2]);
  }

  /** Calls `cb` with each chunk the task writes. */
  onData(cb: (stream: LogStream, chunk: Buffer) => void): void {
    this.#readers.stdout.on("data", (b: Buffer) => cb("stdout", b));
    this.#readers.stderr.on("data", (b: Buffer) => cb("stderr", b));
  }

  /** Closes the helper's copies of the write ends (once the child has its own), so EOF can come. */
  closeWriteEnds(): void {
    if (!this.#writeOpen) return;
    this.#writeOpen = false;
    for (const fd of [this.stdio[1], this.stdio[2]]) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
  }

  /** Resolves once every writer is gone and all output was read, or after `ms` (a daemon holding the
   * pipes); `timer` is the task's clock. */
  drained(timer: (cb: () => void, ms: number) => { cancel(): void }, ms = pipeDrainMs): Promise<void> {
    return new Promise((resolve) => {
      const t = timer(resolve, ms);
      void this.#ended.then(() => (t.cancel(), resolve()));
    });
  }

  /** Stops reading (after drained). */
  destroy(): void {
    this.closeWriteEnds();
    this.#readers.stdout.destroy();
    this.#readers.stderr.destroy();
  }
}
