// One log format for the server, the agent and the helpers: pino's JSON lines (numeric `level`,
// epoch-ms `time`, `msg`) with the process's `component` and `pid`, so one collector reads all three.

/** The levels `--log-level` (or TIFFIN_LOG_LEVEL) takes, as pino names them. */
export const LogLevels = ["debug", "info", "warn", "error"] as const;

/** One of LogLevels. */
export type LogLevel = (typeof LogLevels)[number];

/** pino's number of each level, as the `level` field of a line carries it. */
export const LogLevelNumbers: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 };

/** The level when none is given. */
export const DefaultLogLevel: LogLevel = "info";

/** The environment variable that carries the level, also from an agent to the helpers it starts. */
export const LogLevelEnv = "TIFFIN_LOG_LEVEL";

/** True when `text` names a level. */
export function isLogLevel(text: unknown): text is LogLevel {
  return typeof text === "string" && (LogLevels as readonly string[]).includes(text);
}

/** The fields every line of `component` carries (pino's `base`). */
export function logBase(component: "server" | "agent" | "helper"): { component: string; pid: number } {
  return { component, pid: process.pid };
}
