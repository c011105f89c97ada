// The shorthands users write for durations, sizes and signals, and their canonical forms
// (milliseconds, MiB, "SIGTERM"). Pure functions so the zod schema and the tests share them.

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const durationPart = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** A unit of a duration: milliseconds, seconds, minutes, hours. */
export type DurationUnit = "ms" | "s" | "m" | "h";
type DurationPart = `${number}${DurationUnit}`;
/**
 * A duration as users write it: "200ms", "2s", "1.5m", "1h", "1m30s" (up to three parts in the
 * type; the loader takes more). A template literal type, so `timeout: "soon"` is a type error in
 * the user's editor before any command runs; `durationPattern` is the exact rule.
 */
export type Duration = DurationPart | `${DurationPart}${DurationPart}` | `${DurationPart}${DurationPart}${DurationPart}`;

/** Durations users may write: "200ms", "2s", "1.5m", "1h", "1m30s". */
export const durationPattern = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;

/** Milliseconds for a duration such as "200ms", "2s" or "1m30s"; null when it is not one. */
export function parseDuration(text: string): number | null {
  if (!durationPattern.test(text)) return null;
  let ms = 0;
  durationPart.lastIndex = 0;
  for (let m = durationPart.exec(text); m; m = durationPart.exec(text)) {
    ms += Number(m[1]) * (durationUnits[m[2] ?? ""] ?? Number.NaN);
  }
  return Number.isFinite(ms) ? Math.round(ms) : null;
}

const sizeUnits: Record<string, number> = { Mi: 1, Gi: 1024, Ti: 1024 * 1024 };

/** A size as users write it, in binary units: "256Mi", "4Gi", "1.5Gi", "1Ti" (`sizePattern` is the exact rule). */
export type Size = `${number}${"Mi" | "Gi" | "Ti"}`;

/** Sizes users may write: "256Mi", "4Gi", "1.5Gi", "1Ti" (binary units, as Kubernetes writes them). */
export const sizePattern = /^\d+(?:\.\d+)?(?:Mi|Gi|Ti)$/;

/** MiB for a size such as "256Mi" or "1.5Gi"; null when it is not one or not a whole number of MiB. */
export function parseSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(Mi|Gi|Ti)$/.exec(text);
  if (!m) return null;
  const mib = Number(m[1]) * (sizeUnits[m[2] ?? ""] ?? Number.NaN);
  return Number.isSafeInteger(mib) ? mib : null;
}

/** Signals a task may be asked to stop with. */
export const StopSignals = [
  "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGKILL", "SIGWINCH", "SIGPWR", "SIGABRT",
] as const;

/** "TERM" or "sigterm" -> "SIGTERM"; null for anything not in `StopSignals`. */
export function normalizeSignal(text: string): string | null {
  const upper = text.toUpperCase();
  const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  return (StopSignals as readonly string[]).includes(name) ? name : null;
}

/** A kernel version range: space-separated comparators, all of which must hold (">=6.1", ">=5.10 <7"). */
export const kernelRangePattern = /^(?:>=|<=|>|<|=)?\d+(?:\.\d+){0,2}(?: +(?:>=|<=|>|<|=)?\d+(?:\.\d+){0,2})*$/;
