// Turns zod issues into Problems users can act on: the field path as they wrote it, a message, and the
// value found there as JSON text (looked up in the raw input, since zod does not carry it).
import { inspect } from "node:util";
import type { z } from "zod";
import { formatPath, valueAt } from "../model/index.ts";
import type { Problem } from "../model/index.ts";

/** One step of a field path. */
export type Segment = string | number;

/** The value at `path` inside `root` (declared in the model, beside Problem). */
export { valueAt } from "../model/index.ts";

class NotJson extends Error {}

// JSON would show NaN and Infinity as null, and cannot show bigints, functions, symbols or cycles.
function strictJson(v: unknown): string | undefined {
  return JSON.stringify(v, (_k, x: unknown) => {
    if ((typeof x === "number" && !Number.isFinite(x)) || typeof x === "bigint" || typeof x === "function" || typeof x === "symbol") throw new NotJson();
    if (typeof x === "object" && x !== null && !Array.isArray(x)) {
      const proto: unknown = Object.getPrototypeOf(x);
      if (proto !== Object.prototype && proto !== null) throw new NotJson();
    }
    return x;
  });
}

/** A value for a problem report: JSON text when it is plain data, else as Node shows it; cut short when long; null when missing. */
export function showValue(v: unknown): string | null {
  if (v === undefined) return null;
  let text: string;
  try {
    text = typeof v === "function" ? "(a function)" : (strictJson(v) ?? String(v));
  } catch {
    try {
      text = inspect(v, { depth: 4, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 200, getters: false, showProxy: false });
    } catch {
      text = "(a value that cannot be shown)";
    }
  }
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** A problem at `path` (relative to `prefix`), with the value found there in `raw`. */
export function problemAt(file: string | null, prefix: readonly Segment[], raw: unknown, path: readonly PropertyKey[], message: string): Problem {
  return { file, path: formatPath([...prefix, ...path]), message, value: showValue(valueAt(raw, path)) };
}

function describeType(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : typeof v;
}

/** The issues of the only union branch whose type matched (no type error at its root, and for a
 * literal branch a literal of the value's type), if exactly one did. */
function closestBranch(branches: readonly (readonly z.core.$ZodIssue[])[], value: unknown): z.core.$ZodIssue[] | null {
  const wrongType = (i: z.core.$ZodIssue): boolean =>
    i.path.length === 0 && (i.code === "invalid_type" || (i.code === "invalid_value" && !i.values.some((v) => typeof v === typeof value)));
  const typed = branches.filter((b) => b.length > 0 && !b.some(wrongType));
  return typed.length === 1 && typed[0] ? [...typed[0]] : null;
}

/** Problems for the issues zod found in `raw`, each with its path under `prefix`. */
export function issuesToProblems(issues: readonly z.core.$ZodIssue[], raw: unknown, prefix: readonly Segment[], file: string | null): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const value = valueAt(raw, issue.path);
    const branch = issue.code === "invalid_union" ? closestBranch(issue.errors, value) : null;
    if (branch) {
      // One branch of the union matched the value's type: its own issues say more than "expected a|b".
      const nested = branch.map((i) => ({ ...i, path: [...issue.path, ...i.path] }));
      out.push(...issuesToProblems(nested, raw, prefix, file));
      continue;
    }
    switch (issue.code) {
      case "unrecognized_keys":
        for (const key of issue.keys) out.push(problemAt(file, prefix, raw, [...issue.path, key], `unknown field "${key}"`));
        break;
      case "invalid_key": {
        const why = issue.issues[0]?.message ?? issue.message;
        out.push({ file, path: formatPath([...prefix, ...issue.path]), message: `invalid name: ${why}`, value: showValue(issue.path.at(-1)) });
        break;
      }
      case "invalid_type":
        if (typeof value === "number" && !Number.isFinite(value)) {
          out.push(problemAt(file, prefix, raw, issue.path, `expected a finite number, got ${describeType(value)}`));
        } else if (issue.expected === "int") {
          out.push(problemAt(file, prefix, raw, issue.path, "expected a whole number"));
        } else if (value === undefined) {
          out.push(problemAt(file, prefix, raw, issue.path, `missing: expected ${issue.expected}`));
        } else if (issue.message.startsWith("Invalid input:")) {
          out.push(problemAt(file, prefix, raw, issue.path, `expected ${issue.expected}, got ${describeType(value)}`));
        } else {
          out.push(problemAt(file, prefix, raw, issue.path, issue.message));
        }
        break;
      default:
        out.push(problemAt(file, prefix, raw, issue.path, value === undefined && issue.code !== "custom" ? `missing: ${issue.message}` : issue.message));
    }
  }
  return out;
}

/** Longest quoted value a problem message shows whole. */
const MaxQuotedChars = 64;
/** Longest problem message. */
const MaxMessageChars = 1000;

/**
 * A problem message with each quoted value past 64 characters cut, its length said: messages quote
 * what was written (`port "x" is not declared`), and a 300 KB value made a 300 KB message, echoed
 * whole by the server's 422. The value itself is in the problem's `value`, shown short.
 */
export function boundMessage(message: string): string {
  const cut = message.replace(new RegExp(`"([^"]{${MaxQuotedChars + 1},})"`, "g"), (_whole, v: string) => `"${v.slice(0, MaxQuotedChars)}..." (${v.length} characters)`);
  return cut.length <= MaxMessageChars ? cut : `${cut.slice(0, MaxMessageChars - 3)}...`;
}

/** `problems` with every message bounded (boundMessage). */
export function boundProblems<P extends { message: string }>(problems: P[]): P[] {
  return problems.map((p) => ({ ...p, message: boundMessage(p.message) }));
}
