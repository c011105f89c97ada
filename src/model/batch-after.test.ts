// Tables for workflows between batch jobs: the gate of a run over its upstream runs, and the order
// and cycles of jobs' `after` edges.
import assert from "node:assert/strict";
import { test } from "node:test";
import { afterCycle, afterOrder, upstreamGate } from "./batch-after.ts";
import type { UpstreamRun } from "./batch-after.ts";

void test("a run's gate over its upstream runs", () => {
  const runs: Record<string, UpstreamRun> = {
    "a/1": { state: "succeeded", reason: null },
    "b/1": { state: "running", reason: null },
    "c/1": { state: "queued", reason: null },
    "d/1": { state: "failed", reason: "item 2 failed" },
    "e/1": { state: "cancelled", reason: null },
  };
  const lookup = (job: string, id: string): UpstreamRun => runs[`${job}/${id}`] ?? null;
  const cases: { name: string; after: string[]; want: ReturnType<typeof upstreamGate> }[] = [
    { name: "none", after: [], want: { kind: "go" } },
    { name: "succeeded", after: ["a/1"], want: { kind: "go" } },
    { name: "running", after: ["a/1", "b/1"], want: { kind: "wait", reason: "waiting for upstream run b/1 (running)" } },
    { name: "two going", after: ["b/1", "c/1"], want: { kind: "wait", reason: "waiting for upstream runs b/1 (running), c/1 (queued)" } },
    { name: "failed wins over waiting", after: ["b/1", "d/1"], want: { kind: "cancel", reason: "upstream run d/1 failed: item 2 failed" } },
    { name: "cancelled", after: ["e/1"], want: { kind: "cancel", reason: "upstream run e/1 cancelled" } },
    { name: "gone", after: ["a/9"], want: { kind: "cancel", reason: "upstream run a/9 is gone (deleted by its job's batch.keep, or the job was removed)" } },
    { name: "no run at creation", after: ["f/"], want: { kind: "cancel", reason: "upstream job f had no run when this run was created: start one first (`tiffin run f`)" } },
  ];
  for (const c of cases) assert.deepEqual(upstreamGate(c.after, lookup), c.want, c.name);
});

void test("jobs' after edges: cycles named, order upstream first", () => {
  const g = (o: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(o));
  const cases: { name: string; graph: Map<string, string[]>; cycle: string[] | null; order: string[] | null }[] = [
    { name: "none", graph: g({ a: [], b: [] }), cycle: null, order: ["a", "b"] },
    { name: "chain", graph: g({ load: ["transform"], transform: ["extract"], extract: [] }), cycle: null, order: ["extract", "transform", "load"] },
    { name: "diamond", graph: g({ d: ["b", "c"], b: ["a"], c: ["a"], a: [] }), cycle: null, order: ["a", "b", "c", "d"] },
    { name: "self", graph: g({ a: ["a"] }), cycle: ["a", "a"], order: null },
    { name: "three", graph: g({ a: ["c"], b: ["a"], c: ["b"], d: ["a"] }), cycle: ["a", "c", "b", "a"], order: null },
    { name: "edge to an unknown job ignored", graph: g({ a: ["elsewhere"] }), cycle: null, order: ["a"] },
  ];
  for (const c of cases) {
    assert.deepEqual(afterCycle(c.graph), c.cycle, `${c.name}: cycle`);
    assert.deepEqual(afterOrder(c.graph), c.order, `${c.name}: order`);
  }
});
