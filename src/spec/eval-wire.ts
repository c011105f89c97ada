// What the spec evaluator child sends its parent, and the encoding of the value a spec exports. JSON
// alone would lose what validation must see (NaN, undefined, functions, class instances, the
// job()/defaults() marks), and reading the value may run the user's getters and Proxy traps, so the
// child encodes it (catching what throws there) and the parent decodes an equivalent plain value.
import { brand, defaultsBrand, hasBrand, jobBrand } from "./brand.ts";

/** One encoded value: JSON primitives as they are, everything else tagged. */
export type Wire =
  | string
  | boolean
  | null
  | number
  | { $: "num"; v: "NaN" | "Infinity" | "-Infinity" }
  | { $: "undef" }
  | { $: "bigint"; v: string }
  | { $: "symbol"; v: string }
  | { $: "fn"; v: string }
  | { $: "arr"; v: Wire[] }
  | { $: "obj"; v: [string, Wire][]; b?: "job" | "defaults" }
  | { $: "other"; v: string };

/** How an evaluation ended, as the child reports it on its result pipe. */
export type ChildReport =
  | { t: "ok"; value: Wire; leftovers: string[] }
  | { t: "threw"; where: string | null; what: string; path?: string }
  | { t: "exit"; where: string | null; code: string }
  | { t: "unsettled" };

/** Reading the exported value threw at `path` ("" for the value itself). */
export class ReadError extends Error {
  readonly path: string;
  readonly cause: unknown;
  constructor(path: string, cause: unknown) {
    super(`reading ${path} threw`);
    this.path = path;
    this.cause = cause;
  }
}

const maxDepth = 64;
const maxNodes = 1_000_000;

function plainProto(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function describeOther(v: object): string {
  const name = (Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  if (v instanceof Date) return `a Date (${Number.isNaN(v.getTime()) ? "invalid" : v.toISOString()})`;
  return typeof name === "string" && name !== "" ? `a ${name} object` : "an object with a prototype";
}

/** Encodes `value`; throws ReadError (with the field path) when a getter or trap throws. */
export function encodeValue(value: unknown): Wire {
  let nodes = 0;
  const onPath = new Set<object>();
  const walk = (v: unknown, path: string, depth: number): Wire => {
    if (++nodes > maxNodes) throw new ReadError(path, new Error(`the exported value has more than ${maxNodes} parts`));
    switch (typeof v) {
      case "string":
      case "boolean":
        return v;
      case "number":
        return Number.isFinite(v) ? v : { $: "num", v: Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity" };
      case "undefined":
        return { $: "undef" };
      case "bigint":
        return { $: "bigint", v: v.toString() };
      case "symbol":
        return { $: "symbol", v: v.description ?? "" };
      case "function":
        return { $: "fn", v: v.name };
      default:
    }
    if (v === null) return null;
    const o = v as object;
    if (onPath.has(o)) return { $: "other", v: "a circular reference" };
    if (depth >= maxDepth) return { $: "other", v: `a value nested more than ${maxDepth} deep` };
    try {
      if (Array.isArray(o)) {
        onPath.add(o);
        const arr = o as unknown[];
        const out: Wire[] = [];
        // Items of an exported array are jobs, named as validation names them.
        for (let i = 0; i < arr.length; i++) out.push(walk(arr[i], `${path === "" ? "jobs" : path}[${i}]`, depth + 1));
        onPath.delete(o);
        return { $: "arr", v: out };
      }
      if (!plainProto(o)) return { $: "other", v: describeOther(o) };
      onPath.add(o);
      const entries: [string, Wire][] = [];
      for (const k of Object.keys(o)) entries.push([k, walk((o as Record<string, unknown>)[k], path === "" ? k : `${path}.${k}`, depth + 1)]);
      onPath.delete(o);
      const mark = hasBrand(o, defaultsBrand) ? "defaults" : hasBrand(o, jobBrand) ? "job" : null;
      return mark ? { $: "obj", v: entries, b: mark } : { $: "obj", v: entries };
    } catch (err) {
      throw err instanceof ReadError ? err : new ReadError(path, err);
    }
  };
  return walk(value, "", 0);
}

/** What stands in for a value that is not plain data (a Date, a Map, a class instance, a cycle). */
export class Unsupported {
  readonly description: string;
  constructor(description: string) {
    this.description = description;
  }
  /** Shown in problem reports. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `(${this.description})`;
  }
}

/** Decodes what encodeValue made: an equivalent value made of plain objects. */
export function decodeValue(w: Wire): unknown {
  if (w === null || typeof w !== "object") return w;
  switch (w.$) {
    case "num":
      return Number(w.v);
    case "undef":
      return undefined;
    case "bigint":
      return BigInt(w.v);
    case "symbol":
      return Symbol(w.v);
    case "fn":
      return Object.defineProperty(() => undefined, "name", { value: w.v });
    case "arr":
      return w.v.map(decodeValue);
    case "other":
      return new Unsupported(w.v);
    case "obj": {
      const o: Record<string, unknown> = {};
      // defineProperty, so a key named "__proto__" stays a key.
      for (const [k, v] of w.v) Object.defineProperty(o, k, { value: decodeValue(v), enumerable: true, writable: true, configurable: true });
      return w.b === "defaults" ? brand(o, defaultsBrand) : w.b === "job" ? brand(o, jobBrand) : o;
    }
  }
}
