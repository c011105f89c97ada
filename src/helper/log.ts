// The helper's log: the JSON lines of the server and agent (src/model/logging.ts: pino's format) on
// stderr, which the agent points at the helper's log file (DIR/helper/pool-ID.log, or the attempt's
// helper.log), at the level its agent runs at (TIFFIN_LOG_LEVEL, inherited). Written here rather than
// with pino: a helper writes a few lines in its life, and pino cost each one about 1 MiB more private
// memory (24 against 23 MiB in helper-bundle.test.ts on a loaded machine; helpers are counted per task).
import fs from "node:fs";
import { DefaultLogLevel, isLogLevel, LogLevelEnv, LogLevelNumbers, logBase } from "../model/logging.ts";
import type { LogLevel } from "../model/logging.ts";

const configured = process.env[LogLevelEnv];
const threshold = LogLevelNumbers[isLogLevel(configured) ? configured : DefaultLogLevel];

/** Writes one line at `level` if the level is on: `fields` (optional) then the message, as pino does. */
function write(level: LogLevel, a: Record<string, unknown> | string, b?: string): void {
  const n = LogLevelNumbers[level];
  if (n < threshold) return;
  const fields = typeof a === "string" ? {} : a;
  const msg = typeof a === "string" ? a : (b ?? "");
  try {
    // Synchronous: a helper may exit right after its last line.
    fs.writeSync(2, `${JSON.stringify({ level: n, time: Date.now(), ...logBase("helper"), ...fields, msg })}\n`);
  } catch {
    // stderr gone: nowhere left to say it
  }
}

/** One method a level, called as pino's are: `(message)` or `(fields, message)`. */
type LogMethod = (a: Record<string, unknown> | string, b?: string) => void;

/** The helper process's logger. */
export const helperLog: Record<LogLevel, LogMethod> = {
  debug: (a, b) => write("debug", a, b),
  info: (a, b) => write("info", a, b),
  warn: (a, b) => write("warn", a, b),
  error: (a, b) => write("error", a, b),
};
