// How failures reach the user: `error[CODE]: message`, one line per problem, `hint: ...`, and an
// exit code scripts can tell apart (2: fix your spec, command line or upload; 1: anything else).

import { ErrorCodes, TiffinError, formatProblem } from "../model/errors.ts";
import type { ErrorCode } from "../model/errors.ts";

// TooLarge: what the user sent must change (a spec's files belong in a package), not be retried.
const usageCodes: ReadonlySet<ErrorCode> = new Set([ErrorCodes.SpecInvalid, ErrorCodes.SpecLoad, ErrorCodes.Usage, ErrorCodes.TooLarge, ErrorCodes.SpecEdit]);

/** Exit code for a failure: 2 for spec, usage and too-large errors, 1 otherwise. */
export function exitCodeFor(err: unknown): number {
  return err instanceof TiffinError && usageCodes.has(err.code) ? 2 : 1;
}

/** The text printed for a failure. TiffinErrors never show a stack; bugs do only when `debug`. */
export function formatError(err: unknown, debug = false): string {
  if (err instanceof TiffinError) {
    const lines = [`error[${err.code}]: ${err.message}`];
    // Some errors already list their problems in the message; print each problem once.
    for (const p of err.problems) if (!err.message.includes(formatProblem(p))) lines.push(`  ${formatProblem(p)}`);
    if (err.hint) lines.push(`hint: ${err.hint}`);
    return `${lines.join("\n")}\n`;
  }
  if (err instanceof Error) {
    const detail = debug && err.stack ? err.stack : `${err.name}: ${err.message}`;
    return `error: ${detail}\n${debug ? "" : "hint: this is a bug in tiffin; set TIFFIN_DEBUG=1 to see where it happened\n"}`;
  }
  return `error: ${String(err)}\n`;
}

/** A usage error (bad argument), exit code 2. */
export function usageError(message: string, hint?: string): TiffinError {
  return new TiffinError(ErrorCodes.Usage, message, hint === undefined ? {} : { hint });
}
