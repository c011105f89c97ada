// The helper's log: the JSON lines of the server and agent (src/model/logging.ts) on stderr, which the
// agent points at the helper's log file (DIR/helper/pool-ID.log, or the attempt's helper.log), at the
// level its agent runs at (TIFFIN_LOG_LEVEL, inherited).
import pino from "pino";
import { DefaultLogLevel, isLogLevel, LogLevelEnv, logBase } from "../model/logging.ts";

const level = process.env[LogLevelEnv];

/** The helper process's logger. Synchronous: a helper may exit right after its last line. */
export const helperLog = pino({ level: isLogLevel(level) ? level : DefaultLogLevel, base: logBase("helper") }, pino.destination({ dest: 2, sync: true }));
