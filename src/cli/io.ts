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
  /** True when stderr is a terminal (errors in colour, unless NO_COLOR); absent: not one. */
  errIsTTY?: boolean;
  env: Record<string, string | undefined>;
  /** Calls `cb` once stdout can no longer be written (its reader went away: `| head`, a tee that
   * was stopped); absent where output is only kept (tests). */
  onOutputClosed?(cb: () => void): void;
}

// One guard per process, however many times main runs. Before it, a write to a closed pipe raised
// EPIPE as an 'error' event nobody listened to: a stack trace, and under `tiffin dev` a crash that
// SIGKILLed the agents and left their helpers running (issue 10 item 11).
let stdoutClosed = false;
const closedListeners: (() => void)[] = [];
let guarded = false;
function guardStreams(): void {
  if (guarded) return;
  guarded = true;
  // Any error on stdout means nothing more can be written there (EPIPE, ECONNRESET, EIO).
  process.stdout.on("error", () => {
    if (stdoutClosed) return;
    stdoutClosed = true;
    for (const cb of closedListeners.splice(0)) cb();
  });
  // A closed stderr leaves nowhere to report anything; carry on without it.
  process.stderr.on("error", () => undefined);
}

/** The real process's streams and environment. */
export function processIo(): CliIo {
  guardStreams();
  return {
    out: (t) => void (stdoutClosed || process.stdout.write(t)),
    err: (t) => void (process.stderr.destroyed || process.stderr.write(t)),
    outBytes: (b) => void (stdoutClosed || process.stdout.write(b)),
    errBytes: (b) => void (process.stderr.destroyed || process.stderr.write(b)),
    isTTY: process.stdout.isTTY === true,
    errIsTTY: process.stderr.isTTY === true,
    env: process.env,
    onOutputClosed: (cb) => void (stdoutClosed ? queueMicrotask(cb) : closedListeners.push(cb)),
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
