// The state layout lives with the kinds it holds (kinds.ts); this module keeps the key helpers' old
// import path and the stable JSON text used to compare specs.
export {
  aliveKey, allocKey, attemptKey, auditKey, hostKey, hostTokenKey, jobKey, packageKey, packageTagKey, pieceHolderKey, Prefix, secretKey,
  splitNumbered, taskKey, usageKey, usageTaskPrefix, versionKey,
} from "./kinds.ts";
export type { AliveValue, AllocValue } from "./kinds.ts";

/** JSON text with object keys sorted, so equal values give equal text (spec comparison). */
export function stableJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}
