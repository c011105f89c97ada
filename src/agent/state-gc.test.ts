// Persisted task state (DATA/state/JOB/INDEX) is removed once its task has had no attempt on the host
// for --state-keep, and never while the task is in use. Real folders in a temporary data dir; `inUse`
// is given (AttemptManager.tasksInUse feeds it in the agent).

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { planStateGc, StateGc } from "./state-gc.ts";
import type { TaskKey } from "./state-gc.ts";
import { taskStateDir } from "./isolation.ts";

void test("planStateGc: only tasks not in use and idle for keepMs; never seen counts from now", () => {
  const tasks: TaskKey[] = ["web/0", "web/1", "db/0", "new/0"];
  const lastUsed = { "web/0": 0, "web/1": 500, "db/0": 0 };
  assert.deepEqual(planStateGc({ tasks, lastUsed, inUse: new Set(["web/0"]), now: 1000, keepMs: 1000 }), ["db/0"]);
  assert.deepEqual(planStateGc({ tasks, lastUsed, inUse: new Set(), now: 1500, keepMs: 1000 }), ["db/0", "web/0", "web/1"]);
  assert.deepEqual(planStateGc({ tasks, lastUsed, inUse: new Set(), now: 999, keepMs: 1000 }), []);
  assert.deepEqual(planStateGc({ tasks, lastUsed: {}, inUse: new Set(), now: 5, keepMs: 0 }), ["db/0", "new/0", "web/0", "web/1"]);
});

void test("StateGc: a moved task's state goes after --state-keep, a task in use keeps its own, across agent restarts", async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-state-gc-"));
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const make = (job: string, index: number): string => {
    const dir = taskStateDir(dataDir, job, index);
    fs.mkdirSync(path.join(dir, "var", "lib"), { recursive: true });
    fs.writeFileSync(path.join(dir, "var", "lib", "data"), "kept by the task");
    return dir;
  };
  const web0 = make("web", 0);
  const web1 = make("web", 1);
  const db0 = make("db", 0);
  let now = 1_000_000;
  let inUse = new Set(["web/0", "web/1", "db/0"]);
  const gcOf = (): StateGc => new StateGc({ dataDir, keepMs: 60_000, inUse: () => inUse, log: pino({ level: "silent" }), now: () => now });
  assert.deepEqual(await gcOf().run(), [], "all in use");
  // web/1 moves away and the db job is removed; a minute later (on a restarted agent: the record of
  // use is on disk) both states go, web/0's stays, and the db folder with them.
  inUse = new Set(["web/0"]);
  now += 30_000;
  assert.deepEqual(await gcOf().run(), [], "within --state-keep");
  now += 30_000;
  assert.deepEqual(await gcOf().run(), ["db/0", "web/1"]);
  assert.equal(fs.existsSync(web1), false);
  assert.equal(fs.existsSync(db0), false);
  assert.equal(fs.existsSync(path.dirname(db0)), false, "the empty job folder goes too");
  assert.equal(fs.readFileSync(path.join(web0, "var", "lib", "data"), "utf8"), "kept by the task");
  assert.deepEqual(fs.readdirSync(path.join(dataDir, "state")).sort(), ["last-used.json", "web"], "no trash left");
  // State found with no record (left by an older agent) counts from the first pass that sees it.
  const old = make("old", 2);
  now += 3_600_000;
  assert.deepEqual(await gcOf().run(), []);
  assert.ok(fs.existsSync(old));
  // Found in use just before the removal: kept (the check is repeated right before each rename).
  inUse = new Set();
  now += 60_000;
  let calls = 0;
  const racing = new StateGc({ dataDir, keepMs: 60_000, inUse: () => (++calls === 1 ? new Set() : new Set(["old/2"])), log: pino({ level: "silent" }), now: () => now });
  assert.deepEqual(await racing.run(), ["web/0"]);
  assert.ok(fs.existsSync(old), "a task that started between the plan and the removal keeps its state");
});
