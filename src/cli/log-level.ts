// `--log-level` of the daemons (server, agent, helper) and the pino logger it makes: the one JSON
// format of src/model/logging.ts, on stderr (stdout keeps the human lines a daemon prints at start).

import { Option } from "commander";
import pino from "pino";
import type { Logger } from "pino";
import { DefaultLogLevel, isLogLevel, LogLevelEnv, LogLevels, logBase } from "../model/logging.ts";
import type { LogLevel } from "../model/logging.ts";
import { usageError } from "./errors.ts";

/** The `--log-level` option (env TIFFIN_LOG_LEVEL). */
export function logLevelOption(): Option {
  return new Option("--log-level <level>", `how much to log: ${LogLevels.join(", ")}`).env(LogLevelEnv).default(DefaultLogLevel);
}

/** Checks a `--log-level` value. */
export function parseLogLevel(text: unknown): LogLevel {
  if (isLogLevel(text)) return text;
  throw usageError(`--log-level takes ${LogLevels.join(", ")}, got ${JSON.stringify(text)}`, `e.g. --log-level debug, or ${LogLevelEnv}=warn`);
}

/** The logger of a daemon: JSON lines on stderr at `level`, written at once (a collector sees them in order, a crash loses none). */
export function daemonLogger(component: "server" | "agent" | "helper", level: LogLevel): Logger {
  return pino({ level, base: logBase(component) }, pino.destination({ dest: 2, sync: true }));
}
