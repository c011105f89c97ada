// The rules of a `schedule`, shared by the check of what users write (input.ts) and the strict check
// of the compiled spec (canonical.ts). The cron expression and the time zone are read by croner (the
// library the server fires with), so what validates is exactly what fires.
import { Cron } from "croner";

/** Cron expressions of 5 fields (minutes) or 6 (seconds first), as the server fires them. */
export const CronMode = "5-or-6-parts";

/** `text` cut to `max` characters with "...": a problem quotes what was written, never 100 KB of it. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}...`;
}

/** Why `cron` (in `timeZone`) is no schedule, or null. */
export function cronProblem(cron: string): string | null {
  try {
    return new Cron(cron, { paused: true, mode: CronMode }).nextRun() === null ? "this expression never fires again" : null;
  } catch (err) {
    return `expected a cron expression such as "*/5 * * * *" (5 fields, or 6 with seconds first): ${clip((err as Error).message.replace(/^CronPattern: /, ""), 160)}`;
  }
}

/** Why `tz` is no IANA time zone, or null. */
export function timeZoneProblem(tz: string): string | null {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return null;
  } catch {
    const shown = tz.length <= 64 ? `"${tz}"` : `"${clip(tz, 64)}" (${tz.length} characters)`;
    return `unknown time zone ${shown}: expected an IANA name such as "UTC" or "Europe/Berlin"`;
  }
}
