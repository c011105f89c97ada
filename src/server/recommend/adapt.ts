// `resources.adapt`, pure: what the server would apply of a recommendation (clamped to the job's
// min..max), and whether it applies it now (a significant change, no adapted version for `every`).
import type { AdaptPolicy, Recommendation, Resources } from "../../model/index.ts";
import { spanText } from "./recommend.ts";

/** Who the server's adapted versions are applied by (`tiffin history`). */
export const RecommenderName = "tiffin recommender";

/** A change smaller than this share of the current value (or than MinStep) is not worth a new version. */
export const SignificantShare = 0.1;
/** The smallest change worth a new version: cores, MiB. */
export const MinStep = { cpu: 0.05, memoryMiB: 16 } as const;

const clamp = (v: number, min: number | null, max: number | null): number => Math.min(max ?? Infinity, Math.max(min ?? -Infinity, v));

/** The recommended cpu and memory within the job's bounds; disk as it is. */
export function adaptTarget(current: Resources, recommended: Resources, adapt: AdaptPolicy): Resources {
  return {
    cpu: clamp(recommended.cpu, adapt.min.cpu, adapt.max.cpu),
    memoryMiB: clamp(recommended.memoryMiB, adapt.min.memoryMiB, adapt.max.memoryMiB),
    diskMiB: current.diskMiB,
  };
}

/** True when going from `from` to `to` changes cpu or memory by at least SignificantShare and MinStep. */
export function significant(from: Resources, to: Resources): boolean {
  const big = (a: number, b: number, step: number): boolean => Math.abs(b - a) >= Math.max(step, a * SignificantShare);
  return big(from.cpu, to.cpu, MinStep.cpu) || big(from.memoryMiB, to.memoryMiB, MinStep.memoryMiB);
}

/** What adapting decides for one job: the resources to apply now (or null), and why, in words. */
export interface AdaptDecision {
  target: Resources | null;
  apply: Resources | null;
  note: string;
}

/** The adapt decision for a job with `adapt`, given its recommendation and when the server last adapted it. */
export function decideAdapt(rec: Omit<Recommendation, "adapt">, adapt: AdaptPolicy, lastAdaptedAt: number | null, now: number): AdaptDecision {
  if (rec.recommended === null) return { target: null, apply: null, note: `nothing to apply: ${rec.reason ?? "no recommendation"}` };
  const target = adaptTarget(rec.current, rec.recommended, adapt);
  const clamped = target.cpu !== rec.recommended.cpu || target.memoryMiB !== rec.recommended.memoryMiB ? " (within the job's adapt bounds)" : "";
  if (!significant(rec.current, target)) return { target, apply: null, note: `no significant change${clamped}: under ${SignificantShare * 100}% (and ${MinStep.cpu} cores, ${MinStep.memoryMiB} MiB)` };
  if (lastAdaptedAt !== null && now - lastAdaptedAt < adapt.everyMs) {
    return { target, apply: null, note: `would apply${clamped}, in ${spanText(Math.ceil((adapt.everyMs - (now - lastAdaptedAt)) / 1000) * 1000)}: adapted versions come at most every ${spanText(adapt.everyMs)}` };
  }
  return { target, apply: target, note: `applies${clamped} as a new version` };
}

/** The message of an adapted version: each change and why. */
export function adaptMessage(rec: Omit<Recommendation, "adapt">, target: Resources): string {
  const parts: string[] = [];
  for (const c of rec.changes) {
    const to = c.field === "cpu" ? target.cpu : target.memoryMiB;
    const from = c.field === "cpu" ? rec.current.cpu : rec.current.memoryMiB;
    if (to === from) continue;
    const unit = c.field === "cpu" ? " cores" : " MiB";
    const bounded = to !== c.to ? ` (recommended ${c.to}${unit}, bounded by adapt)` : "";
    parts.push(`${c.field === "cpu" ? "cpu" : "memory"} ${from} -> ${to}${unit}${bounded}: ${c.why}`);
  }
  return `adapted from usage: ${parts.join("; ")}`;
}
