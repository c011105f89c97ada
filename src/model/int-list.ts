// A list of whole numbers (piece indexes) that can hold a million entries: declared by its item's zod
// schema, like any list, but checked in one pass when every item fits, since z.array spends about
// 300 ms on a million integers where one loop takes about 10 ms (bench/RESULTS.md, "Mirror decoding").
// The one-pass test is derived from the item's JSON Schema (z.toJSONSchema: type integer and bounds),
// never written by hand, and a list it refuses is checked again by z.array(item), so a refusal names
// each bad item's path exactly as z.array does. Pure.
import { z } from "zod";

/** The JSON Schema keywords of a whole-number item this derives its one-pass test from. */
const BoundKeys = new Set(["type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "$schema"]);

/** The one-pass test of `item`, or a thrown Error when its schema is more than an integer with bounds. */
function quickTest(item: z.ZodNumber): (v: unknown) => boolean {
  const js = z.toJSONSchema(item) as Record<string, unknown>;
  const extra = Object.keys(js).filter((k) => !BoundKeys.has(k));
  if (js["type"] !== "integer" || extra.length > 0) {
    throw new Error(`intList: the item must be z.number().int() with bounds at most, got JSON Schema ${JSON.stringify(js)}`);
  }
  const bound = (key: string, none: number): number => {
    const v = js[key];
    return typeof v === "number" ? v : none;
  };
  const lo = bound("minimum", -Infinity);
  const hi = bound("maximum", Infinity);
  const xlo = bound("exclusiveMinimum", -Infinity);
  const xhi = bound("exclusiveMaximum", Infinity);
  return (v) => typeof v === "number" && Number.isSafeInteger(v) && v >= lo && v <= hi && v > xlo && v < xhi;
}

/** A list of at most `maxItems` whole numbers, each as `item` says (see the top of this file). */
export function intList(item: z.ZodNumber, maxItems: number): z.ZodType<number[]> {
  const full = z.array(item).max(maxItems);
  const quick = quickTest(item);
  const { $schema: _, ...jsonSchema } = z.toJSONSchema(full) as Record<string, unknown>;
  return z
    .custom<number[]>()
    .superRefine((v, ctx) => {
      if (Array.isArray(v) && v.length <= maxItems && v.every(quick)) return;
      const r = full.safeParse(v);
      // A million bad items is a million issues: the first ten say enough.
      if (!r.success) for (const { input: _input, ...issue } of r.error.issues.slice(0, 10)) ctx.addIssue(issue);
    })
    .meta(jsonSchema);
}
