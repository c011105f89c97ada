// What the end of a spec evaluator child means for the user: the exported value, or a SpecLoad error
// naming the file (and the line when the child could tell). Pure, so every way a child can end is a
// case in a table (eval-outcome.test.ts).
import { ErrorCodes, readJsonAs, TiffinError } from "../model/index.ts";
import { z } from "zod";
import type { Assert, TypesMatch } from "../model/index.ts";
import { decodeValue } from "./eval-wire.ts";
import type { ChildReport, Wire } from "./eval-wire.ts";

/** An encoded value (eval-wire.ts's Wire): checked here, in the parent, since the child runs the
 * user's code, which can write anything to the report pipe. */
const wireSchema: z.ZodType<Wire> = z.lazy(() =>
  z.union([
    z.string(),
    z.boolean(),
    z.null(),
    z.number(),
    z.object({ $: z.literal("num"), v: z.enum(["NaN", "Infinity", "-Infinity"]) }),
    z.object({ $: z.literal("undef") }),
    z.object({ $: z.enum(["bigint", "symbol", "fn", "other"]), v: z.string() }),
    z.object({ $: z.literal("arr"), v: z.array(wireSchema) }),
    z.object({ $: z.literal("obj"), v: z.array(z.tuple([z.string(), wireSchema])), b: z.enum(["job", "defaults"]).exactOptional() }),
  ]),
);

/** The child's report line (ChildReport). */
const childReportSchema = z.discriminatedUnion("t", [
  z.object({ t: z.literal("ok"), value: wireSchema, leftovers: z.array(z.string()) }),
  z.object({ t: z.literal("threw"), where: z.string().nullable(), what: z.string(), path: z.string().exactOptional() }),
  z.object({ t: z.literal("exit"), where: z.string().nullable(), code: z.string() }),
  z.object({ t: z.literal("unsettled") }),
]);

/** Compile-time proof that the report schema is ChildReport. */
export type ChildReportCheck = Assert<TypesMatch<z.infer<typeof childReportSchema>, ChildReport>>;

/** How the child ended, as the parent saw it. */
export interface ChildEnd {
  /** The child's report on fd 3, when it sent one that parses. */
  report: ChildReport | null;
  code: number | null;
  signal: string | null;
  /** The parent killed it at the wall-clock limit. */
  timedOut: boolean;
  /** The parent killed it at the memory limit, or V8 said its heap was full. */
  outOfMemory: boolean;
  /** The child could not be started at all (no exit code or signal then). */
  spawnError: string | null;
}

/** The limits the child ran under, and the file as shown to the user. */
export interface EvalContext {
  shown: string;
  timeoutMs: number;
  memoryMiB: number;
}

/** The value, a SpecLoad error, and a note about what the spec left running (or null). */
export type EvalOutcome = { ok: true; value: unknown; note: string | null } | { ok: false; error: TiffinError };

function fail(message: string, hint: string): EvalOutcome {
  return { ok: false, error: new TiffinError(ErrorCodes.SpecLoad, message, { hint }) };
}

/** Parses one report line; null when it is not one. */
export function parseReport(text: string): ChildReport | null {
  return readJsonAs(childReportSchema, text.split("\n")[0] ?? "");
}

/** Decides what the end of an evaluation means. */
export function evalOutcome(end: ChildEnd, ctx: EvalContext): EvalOutcome {
  const { shown } = ctx;
  if (end.spawnError !== null) {
    return fail(`${shown}: could not start a process to evaluate the spec: ${end.spawnError}`, "check the machine's process and memory limits, then try again");
  }
  if (end.timedOut) {
    return fail(
      `${shown}: the spec did not finish evaluating within ${ctx.timeoutMs} ms (a loop that never ends, or work that never completes?)`,
      "a spec must compute its jobs and finish; TIFFIN_SPEC_TIMEOUT_MS changes the limit",
    );
  }
  if (end.outOfMemory) {
    return fail(
      `${shown}: the spec used more than ${ctx.memoryMiB} MiB of memory while being evaluated, and was stopped`,
      "a spec computes a few jobs; look for a loop that keeps allocating. TIFFIN_SPEC_MEMORY_MIB changes the limit",
    );
  }
  const r = end.report;
  switch (r?.t) {
    case "ok": {
      const left = r.leftovers.join(", ");
      const note = left === "" ? null : `tiffin: note: ${shown} left ${left} running after it was evaluated (stopped: a spec should only compute its jobs)\n`;
      return { ok: true, value: decodeValue(r.value), note };
    }
    case "threw":
      if (r.path !== undefined) {
        const what = r.path === "" ? "the spec's export" : `${r.path} of the spec's export`;
        return fail(`${r.where ?? shown}: reading ${what} threw: ${r.what}`, "fix the getter or Proxy named here; a spec should export plain data made by job()");
      }
      return fail(`${r.where ?? shown}: the spec threw while being evaluated: ${r.what}`, "fix the code at that line; a spec file runs once, at load");
    case "exit":
      return fail(
        `${r.where ?? shown}: the spec called process.exit(${r.code}) while being evaluated, so it declared no jobs and nothing was sent`,
        "a spec must export its jobs and not exit; throw an Error to refuse to load",
      );
    case "unsettled":
      return fail(`${shown}: the spec never finished evaluating: a top-level await never settled`, "await only promises that settle; a spec must compute its jobs and finish");
    default: {
      const how = end.signal !== null ? `signal ${end.signal}` : `exit code ${end.code ?? "unknown"}`;
      return fail(`${shown}: the spec's evaluation ended without a result (${how})`, "a spec must not end or kill its own process; it runs in a child process of tiffin");
    }
  }
}

const fatalMarks = ["<--- Last few GCs --->", "FATAL ERROR:", "\n#\n# Fatal"];

/** The spec's own output, without what V8 prints when it aborts (a native stack is no use to a user). */
export function userOutput(text: string): string {
  let cut = text.length;
  for (const m of fatalMarks) {
    const at = text.indexOf(m);
    if (at >= 0 && at < cut) cut = at;
  }
  if (cut === text.length) return text;
  const kept = text.slice(0, cut).trimEnd();
  return kept === "" ? "" : `${kept}\n`;
}

/** True when the output says V8 ran out of heap. */
export function saysOutOfMemory(text: string): boolean {
  return /heap out of memory|Reached heap limit|FATAL ERROR: .*Allocation failed/.test(text);
}
