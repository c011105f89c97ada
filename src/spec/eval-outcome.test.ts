import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultsBrand, hasBrand, jobBrand, brand } from "./brand.ts";
import { evalOutcome, userOutput } from "./eval-outcome.ts";
import type { ChildEnd } from "./eval-outcome.ts";
import { decodeValue, encodeValue, ReadError, Unsupported } from "./eval-wire.ts";

const ctx = { shown: "spec.ts", timeoutMs: 1000, memoryMiB: 64 };
const end = (e: Partial<ChildEnd>): ChildEnd => ({ report: null, code: 0, signal: null, timedOut: false, outOfMemory: false, spawnError: null, ...e });

void test("every way the evaluator child can end is a value or a SpecLoad error naming the file", () => {
  const cases: [string, ChildEnd, RegExp][] = [
    ["killed at the time limit", end({ timedOut: true, signal: "SIGKILL", code: null }), /^spec\.ts: the spec did not finish evaluating within 1000 ms/],
    ["out of memory", end({ outOfMemory: true, signal: "SIGABRT", code: null }), /^spec\.ts: the spec used more than 64 MiB/],
    ["threw at a line", end({ report: { t: "threw", where: "spec.ts:3", what: "TypeError: x" } }), /^spec\.ts:3: the spec threw while being evaluated: TypeError: x$/],
    ["threw without a stack", end({ report: { t: "threw", where: null, what: "null" } }), /^spec\.ts: the spec threw while being evaluated: null$/],
    ["a getter threw", end({ report: { t: "threw", where: "lib.ts:9", what: "no", path: "jobs[0].env" } }), /^lib\.ts:9: reading jobs\[0\]\.env of the spec's export threw: no$/],
    ["the export itself threw", end({ report: { t: "threw", where: null, what: "7", path: "" } }), /^spec\.ts: reading the spec's export threw: 7$/],
    ["process.exit", end({ report: { t: "exit", where: "spec.ts:2", code: "0" } }), /^spec\.ts:2: the spec called process\.exit\(0\)/],
    ["unsettled top-level await", end({ report: { t: "unsettled" } }), /^spec\.ts: the spec never finished evaluating: a top-level await never settled$/],
    ["killed by a signal, no report", end({ signal: "SIGKILL", code: null }), /^spec\.ts: the spec's evaluation ended without a result \(signal SIGKILL\)$/],
    ["exit code, no report", end({ code: 7 }), /^spec\.ts: the spec's evaluation ended without a result \(exit code 7\)$/],
    ["no process", end({ code: null, spawnError: "spawn EAGAIN" }), /^spec\.ts: could not start a process to evaluate the spec: spawn EAGAIN$/],
  ];
  for (const [name, e, message] of cases) {
    const o = evalOutcome(e, ctx);
    assert.equal(o.ok, false, name);
    if (!o.ok) {
      assert.equal(o.error.code, "TIFFIN_SPEC_LOAD", name);
      assert.match(o.error.message, message, name);
      assert.notEqual(o.error.hint, null, name);
    }
  }
  const ok = evalOutcome(end({ report: { t: "ok", value: { $: "arr", v: [1] }, leftovers: ["1 Timeout"] } }), ctx);
  assert.deepEqual(ok.ok && [ok.value, ok.note], [[1], "tiffin: note: spec.ts left 1 Timeout running after it was evaluated (stopped: a spec should only compute its jobs)\n"]);
});

void test("the exported value crosses the process boundary with what validation needs", () => {
  const fn = function port(): void {};
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic["self"] = cyclic;
  const job = brand({ name: "a", n: Number.NaN, big: 10n, inf: -Infinity, u: undefined, f: fn, s: Symbol("x"), d: new Date(0), c: cyclic, __proto__x: 1 }, jobBrand);
  const back = decodeValue(JSON.parse(JSON.stringify(encodeValue([job, brand({ replicas: 2 }, defaultsBrand)]))) as never) as Record<string, unknown>[];
  const [j, d] = back;
  assert.ok(hasBrand(j, jobBrand) && hasBrand(d, defaultsBrand) && !hasBrand(j, defaultsBrand));
  assert.ok(Number.isNaN(j?.["n"]));
  assert.equal(j?.["big"], 10n);
  assert.equal(j?.["inf"], -Infinity);
  assert.ok(Object.hasOwn(j ?? {}, "u") && j?.["u"] === undefined);
  assert.equal(typeof j?.["f"], "function");
  assert.equal(typeof j?.["s"], "symbol");
  assert.ok(j?.["d"] instanceof Unsupported);
  assert.ok((j?.["c"] as Record<string, unknown>)["self"] instanceof Unsupported);
  const proto = decodeValue(encodeValue(JSON.parse('{"__proto__": {"x": 1}}'))) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(proto), Object.prototype, "a __proto__ key stays a key");
  assert.deepEqual(Object.keys(proto), ["__proto__"]);
});

void test("a getter or trap that throws while the value is read names the field", () => {
  const value = [{ name: "a" }, { env: { get A(): string { throw new Error("no"); } } }];
  assert.throws(() => encodeValue(value), (e: unknown) => e instanceof ReadError && e.path === "jobs[1].env" && (e.cause as Error).message === "no");
  const trap = new Proxy({}, { ownKeys: () => { throw new RangeError("trap"); } });
  assert.throws(() => encodeValue(trap), (e: unknown) => e instanceof ReadError && e.path === "");
});

void test("V8's abort text is not shown as the spec's output", () => {
  assert.equal(userOutput("hello\n\n<--- Last few GCs --->\n[1:0x1] 10 ms: Mark-Compact\nFATAL ERROR: Reached heap limit\n"), "hello\n");
  assert.equal(userOutput("FATAL ERROR: x\n"), "");
  assert.equal(userOutput("plain\n"), "plain\n");
});
