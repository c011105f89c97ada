// Fuzzing helpers (tests only): seeded mutations of JSON values (drop, duplicate, retype fields; huge,
// odd, unicode and deeply nested values), the time budget of a fuzz run, and the check that an answer
// leaks nothing of the server's insides (stack traces, source or data paths).
import assert from "node:assert/strict";
import { mulberry32 } from "../../model/index.ts";

/** The seed of a fuzz run: TIFFIN_FUZZ_SEED, or a fixed one so the suite is repeatable. */
export const fuzzSeed = Number(process.env["TIFFIN_FUZZ_SEED"] ?? 20261206);

/** How long one fuzz phase runs: `fallbackMs` in the suite, TIFFIN_FUZZ_MS for a long run (`npm run fuzz`). */
export function fuzzBudgetMs(fallbackMs: number): number {
  const v = Number(process.env["TIFFIN_FUZZ_MS"] ?? NaN);
  return Number.isFinite(v) && v > 0 ? v : fallbackMs;
}

/** A seeded source of floats in [0, 1). */
export type Rng = () => number;

/** A new seeded generator. */
export function rngOf(seed: number): Rng {
  return mulberry32(seed);
}

/** One of `items`, chosen by `r`. */
export function pick<T>(r: Rng, items: readonly T[]): T {
  const v = items[Math.floor(r() * items.length)];
  if (v === undefined) throw new Error("pick from an empty list");
  return v;
}

/** `depth` arrays (or objects) inside each other: what a recursive reader overflows on. */
export function nested(depth: number, asObject: boolean): unknown {
  let v: unknown = "bottom";
  for (let i = 0; i < depth; i++) v = asObject ? { a: v } : [v];
  return v;
}

/** An odd JSON value: wrong types, extremes, unicode, traversal, huge and deeply nested values. */
export function oddValue(r: Rng): unknown {
  const pool: (() => unknown)[] = [
    () => null,
    () => true,
    () => 0,
    () => -1,
    () => -0.5,
    () => 1e308,
    () => -1e308,
    () => 2 ** 53 + 1,
    () => 4294967297,
    () => "",
    () => " ",
    () => "\u0000",
    () => "a\u0000b",
    () => "NaN",
    () => "Infinity",
    () => "-1s",
    () => "99999999999999999999Mi",
    () => "é🙂\u202e\uFEFF\uD800",
    () => "../../../../etc/passwd",
    () => "..",
    () => "/",
    () => "%2e%2e%2f",
    () => "${PORT_NOPE}",
    () => "__proto__",
    () => "constructor",
    () => "x".repeat(1 + Math.floor(r() * 300_000)),
    () => [],
    () => [null],
    () => {
      const n = 1 + Math.floor(r() * 2000);
      return Array.from({ length: n }, (_, i) => `item${i}`);
    },
    () => ({}),
    () => ({ __proto__: { polluted: 1 } }),
    () => JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"x": 1}}}') as unknown,
    () => nested(1 + Math.floor(r() * 3000), r() < 0.5),
    () => Object.fromEntries(Array.from({ length: 1 + Math.floor(r() * 500) }, (_, i) => [`k${i}`, i])),
  ];
  return pick(r, pool)();
}

type Path = (string | number)[];

/** Paths of every field and item of `v` (not below `maxDepth`), so mutations reach nested places. */
export function pathsOf(v: unknown, maxDepth = 12, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (at.length >= maxDepth) return out;
  if (Array.isArray(v)) v.slice(0, 50).forEach((x: unknown, i) => pathsOf(x, maxDepth, [...at, i], out));
  else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) pathsOf(x, maxDepth, [...at, k], out);
  return out;
}

/** A deep copy of a JSON value. */
export function copyJson<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/**
 * Mutates a copy of `value` 1 to 4 times: a field dropped, duplicated under another name, given an
 * odd value, retyped (a string as a number, an object as an array...), or an unknown field added.
 */
export function mutateJson(value: unknown, r: Rng): unknown {
  const root = { v: copyJson(value) } as Record<string | number, unknown>;
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const all = pathsOf(root["v"]).map((p) => ["v", ...p] as Path);
    const p = pick(r, all);
    let parent: unknown = root;
    for (const s of p.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[s];
    const key = p[p.length - 1] ?? "v";
    const obj = parent as Record<string | number, unknown>;
    const old = obj[key];
    const what = r();
    if (what < 0.15 && key !== "v") {
      if (Array.isArray(obj) && typeof key === "number") obj.splice(key, 1);
      else delete obj[key];
    } else if (what < 0.25 && !Array.isArray(obj) && key !== "v") obj[`${String(key)}${pick(r, ["2", "_", "/x", " ", "\u0000"])}`] = old;
    else if (what < 0.35 && Array.isArray(obj)) obj.push(copyJson(old ?? null));
    else if (what < 0.45 && typeof old === "object" && old !== null && !Array.isArray(old)) (old as Record<string, unknown>)[`extra${i}`] = oddValue(r);
    else if (what < 0.6) obj[key] = retyped(old, r);
    else obj[key] = oddValue(r);
  }
  return root["v"];
}

function retyped(v: unknown, r: Rng): unknown {
  if (typeof v === "string") return pick(r, [Number(v.replace(/\D/g, "") || "1"), [v], { value: v }, v.length]);
  if (typeof v === "number") return pick(r, [String(v), `${v}Mi`, [v], -v, v * 1e12, v + 0.5]);
  if (typeof v === "boolean") return pick(r, [String(v), Number(v)]);
  if (Array.isArray(v)) return pick(r, [Object.fromEntries(v.map((x: unknown, i) => [String(i), x])), v.length, v[0] ?? null]);
  if (typeof v === "object" && v !== null) return pick(r, [Object.values(v), Object.keys(v).join(","), 1]);
  return pick(r, ["null", 0, false]);
}

/** Checks a body (text) leaks nothing of the server: no stack frame, no source or data path. */
export function assertNoLeak(text: string, what: string, privatePaths: string[] = []): void {
  assert.doesNotMatch(text, /\n\s+at |\bat (?:file|node):|node:internal|\bat async\b/, `${what}: a stack trace in the answer`);
  assert.doesNotMatch(text, /\.(?:ts|js|mjs):\d+|\/src\/|node_modules/, `${what}: a source path in the answer`);
  for (const p of [process.cwd(), ...privatePaths]) assert.ok(!text.includes(p), `${what}: the answer names ${p}`);
}
