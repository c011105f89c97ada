// The zod schema of a duration field as users write it ("30s", "5m", "1h30m"), resolved to
// milliseconds within a range. One schema for every part of a spec (input.ts, rollout, rollout
// checks, batch, schedule): each names its own examples and range wording. Imports no spec schema,
// so every one of those files may import it.
import { z } from "zod";
import { durationPattern, parseDuration } from "./units.ts";
import type { Duration } from "./units.ts";

/** A duration string between `minMs` and `maxMs`, resolved to ms. `message` is the error for what is
 * not a duration; `range` the one for a duration out of range. */
export function durationMs(minMs: number, maxMs: number, message: string, range = `must be between ${minMs}ms and ${maxMs / 3_600_000}h`) {
  // Typed as the template literal `Duration` users see (the regex is the runtime rule, and stays in
  // the JSON Schema): zod's string schema cannot carry a narrower input type on its own.
  const text = z.string({ error: message }).regex(durationPattern, { error: message }) as unknown as z.ZodType<Duration, Duration>;
  return text.transform((t, ctx) => {
    const ms = parseDuration(t) ?? Number.NaN;
    if (!(ms >= minMs && ms <= maxMs)) {
      ctx.issues.push({ code: "custom", input: t, message: range });
      return z.NEVER;
    }
    return ms;
  });
}
