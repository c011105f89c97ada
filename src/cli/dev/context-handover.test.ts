import { test } from "node:test";
import assert from "node:assert/strict";
import { contextOnStop, devPidOf } from "./context-handover.ts";
import type { Handover, HandoverInput } from "./context-handover.ts";

void test("contextOnStop: the displaced cluster's context comes back only while it still runs", () => {
  const a = '{"addr":"http://127.0.0.1:7070","token":"a","devPid":10}';
  const b = '{"addr":"http://127.0.0.1:7171","token":"b","devPid":20}';
  const c = '{"addr":"http://127.0.0.1:7272","token":"c","devPid":30}';
  const cases: [string, HandoverInput, Handover["action"]][] = [
    ["second dev stops while the first runs", { previous: a, ours: b, current: b, previousAlive: true }, "restore"],
    ["the first one stopped meanwhile", { previous: a, ours: b, current: b, previousAlive: false }, "leave"],
    ["no context before", { previous: null, ours: b, current: b, previousAlive: false }, "leave"],
    ["the same context before (same data dir, restarted)", { previous: b, ours: b, current: b, previousAlive: true }, "leave"],
    ["a third dev took over since", { previous: a, ours: b, current: c, previousAlive: true }, "leave"],
    ["the file was removed since", { previous: a, ours: b, current: null, previousAlive: true }, "leave"],
  ];
  for (const [name, input, want] of cases) assert.equal(contextOnStop(input).action, want, name);
  assert.deepEqual(contextOnStop({ previous: a, ours: b, current: b, previousAlive: true }), { action: "restore", text: a });
});

void test("devPidOf", () => {
  assert.equal(devPidOf('{"addr":"x","token":"t","devPid":42}'), 42);
  assert.equal(devPidOf('{"addr":"x","token":"t"}'), null, "written by hand or by an older tiffin");
  assert.equal(devPidOf("not json"), null);
  assert.equal(devPidOf(null), null);
});
