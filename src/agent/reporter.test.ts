import assert from "node:assert/strict";
import { test } from "node:test";
import type { AttemptUpdate } from "../api/types.ts";
import type { CallResult } from "./client.ts";
import { Reporter } from "./reporter.ts";

const upd = (id: string, state: AttemptUpdate["state"]): AttemptUpdate => ({
  id,
  state,
  pid: null,
  exitCode: null,
  signal: null,
  reason: null,
  ports: {},
  startedAt: null,
  endedAt: null,
});

void test("a burst of updates becomes one call with the latest state per attempt", async () => {
  const calls: AttemptUpdate[][] = [];
  const r = new Reporter({ send: async (u) => (calls.push(u), { ok: true, value: {} }), coalesceMs: 30 });
  r.report(upd("a", "starting"));
  r.report(upd("a", "running"));
  r.report(upd("b", "running"));
  await new Promise((res) => setTimeout(res, 100));
  assert.deepEqual(calls.map((c) => c.map((u) => `${u.id}:${u.state}`)), [["a:running", "b:running"]]);
  r.close();
});

void test("failed sends are retried until accepted; onAccepted runs only then", async () => {
  let n = 0;
  const failures: (number | null)[] = [];
  let accepted = 0;
  const r = new Reporter({
    send: async (): Promise<CallResult<unknown>> => (++n < 3 ? { ok: false, status: n === 1 ? null : 503, code: null, message: "down" } : { ok: true, value: {} }),
    onFailure: (f) => failures.push(f.status),
    coalesceMs: 5,
    retryInitialMs: 10,
    retryMaxMs: 20,
  });
  r.report(upd("a", "exited"), () => accepted++);
  await new Promise((res) => setTimeout(res, 30));
  assert.equal(accepted, 0);
  assert.ok(await r.flush(2000));
  assert.equal(accepted, 1);
  assert.equal(n, 3);
  assert.deepEqual(failures, [null, 503]);
  r.close();
});

void test("updates wait while there is no identity (send returns null)", async () => {
  let registered = false;
  const sent: string[] = [];
  const r = new Reporter({ send: (u) => (registered ? (sent.push(...u.map((x) => x.id)), Promise.resolve({ ok: true, value: {} })) : null), coalesceMs: 5, retryInitialMs: 10 });
  r.report(upd("a", "running"));
  await new Promise((res) => setTimeout(res, 40));
  assert.equal(r.pending, 1);
  registered = true;
  r.kick();
  assert.ok(await r.flush(1000));
  assert.deepEqual(sent, ["a"]);
  r.close();
});
