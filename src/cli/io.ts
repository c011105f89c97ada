// Where commands write. Handlers return data; only renderers and main write, through this, so tests
// capture output without touching the process's streams.

/** Output streams and environment of one CLI run. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Raw bytes to stdout/stderr (binary output of `tiffin exec`); absent where only text is kept (tests). */
  outBytes?(b: Uint8Array): void;
  errBytes?(b: Uint8Array): void;
  /** True when stdout is a terminal (live progress lines instead of one line per change). */
  isTTY: boolean;
  env: Record<string, string | undefined>;
}

/** The real process's streams and environment. */
export function processIo(): CliIo {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    outBytes: (b) => void process.stdout.write(b),
    errBytes: (b) => void process.stderr.write(b),
    isTTY: process.stdout.isTTY === true,
    env: process.env,
  };
}

/** An io that records what is written (tests). */
export function memoryIo(env: Record<string, string | undefined> = {}): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: "",
    stderr: "",
    isTTY: false,
    env,
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
  };
  return io;
}
