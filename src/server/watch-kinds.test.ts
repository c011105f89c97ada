// The watch's allow-list: which keys become typed events, under which kind and name.

import { test } from "node:test";
import assert from "node:assert/strict";
import { WatchKinds } from "../api/watch-types.ts";
import type { WatchEvent } from "../api/watch-types.ts";
import type { Attempt, Endpoint, Task } from "../model/index.ts";
import type { KeyValue } from "../state/store.ts";
import { Prefix } from "./keys.ts";
import { classifyKey, filteredWatchEvent, matchesHosts, matchesJobs, toWatchEvent, watchKindTable } from "./watch-kinds.ts";

const all = [...WatchKinds];
const kv = (key: string, value: string, createRevision: number, modRevision: number): KeyValue => ({ key, value, createRevision, modRevision, version: 1, lease: null });

const cases: { name: string; key: string; want: { kind: string; name: string } | null }[] = [
  { name: "a job", key: "/jobs/web", want: { kind: "job", name: "web" } },
  { name: "a version", key: "/versions/web/0000000003", want: { kind: "version", name: "web/3" } },
  { name: "a task", key: "/tasks/web/000012", want: { kind: "task", name: "web/12" } },
  { name: "an attempt", key: "/attempts/abcdefghij", want: { kind: "attempt", name: "abcdefghij" } },
  { name: "a host", key: "/hosts/h1", want: { kind: "host", name: "h1" } },
  { name: "a host's liveness", key: "/alive/h1", want: { kind: "alive", name: "h1" } },
  { name: "a rollout", key: "/rollouts/web/0000000002", want: { kind: "rollout", name: "web/2" } },
  { name: "an endpoint", key: "/endpoints/web/000002", want: { kind: "endpoint", name: "web/2" } },
  { name: "a host token", key: "/hosttokens/h1", want: null },
  { name: "the admin token", key: "/secrets/admin", want: null },
  { name: "the join token", key: "/secrets/join", want: null },
  { name: "the leader", key: "/leader", want: null },
  { name: "a prefix added later", key: "/newsecrets/x", want: null },
  { name: "a prefix that extends an allowed one", key: "/hostsecret/h1", want: null },
  { name: "the prefix itself", key: "/jobs/", want: null },
];

for (const c of cases) {
  void test(`classifyKey: ${c.name}`, () => assert.deepEqual(classifyKey(c.key, all), c.want));
}

void test("every key prefix of the state that is not allow-listed never classifies, whatever kinds are asked", () => {
  const allowed = new Set(Object.values(watchKindTable).map((e) => e.prefix));
  const denied = Object.values(Prefix).filter((p) => !allowed.has(p));
  // The ones that must never leak are among them (a guard against this test passing vacuously).
  for (const p of [Prefix.hostTokens, Prefix.secrets, Prefix.pieceHolders, Prefix.audit, Prefix.alloc]) assert.ok(denied.includes(p), p);
  for (const p of denied) assert.equal(classifyKey(`${p}x/y`, all), null, p);
});

void test("classifyKey only answers for the kinds asked", () => {
  assert.equal(classifyKey("/jobs/web", ["task", "host"]), null);
  assert.deepEqual(classifyKey("/tasks/web/000000", ["task"]), { kind: "task", name: "web/0" });
});

void test("toWatchEvent: a created key is added, a later put updated, a delete removed with its last object", () => {
  const rec = (version: number): string => JSON.stringify({ name: "web", version, removedAt: null, updatedAt: 1 });
  const added = toWatchEvent({ type: "put", kv: kv("/jobs/web", rec(1), 5, 5), revision: 5 }, all);
  assert.deepEqual(added, { type: "added", kind: "job", name: "web", revision: 5, object: { name: "web", version: 1, removedAt: null, updatedAt: 1 } });
  const updated = toWatchEvent({ type: "put", kv: kv("/jobs/web", rec(2), 5, 9), revision: 9 }, all);
  assert.equal(updated?.type, "updated");
  const removed = toWatchEvent({ type: "delete", kv: kv("/jobs/web", "", 0, 11), revision: 11, prevKv: kv("/jobs/web", rec(2), 5, 9) }, all);
  assert.deepEqual(removed, { type: "removed", kind: "job", name: "web", revision: 11, object: { name: "web", version: 2, removedAt: null, updatedAt: 1 } });
  // A store that did not say what was removed (or a last value that does not decode): null.
  assert.equal(toWatchEvent({ type: "delete", kv: kv("/jobs/web", "", 0, 11), revision: 11 }, all)?.object, null);
  assert.equal(toWatchEvent({ type: "delete", kv: kv("/jobs/web", "", 0, 11), revision: 11, prevKv: kv("/jobs/web", "{bad", 5, 9) }, all)?.object, null);
  assert.equal(toWatchEvent({ type: "put", kv: kv("/hosttokens/h1", '"secret"', 3, 3), revision: 3 }, all), null);
  assert.equal(toWatchEvent({ type: "put", kv: kv("/jobs/bad", "{not json", 3, 3), revision: 3 }, all), null);
  // A value its kind's schema refuses (the stored job record has a numeric version) is not streamed.
  assert.equal(toWatchEvent({ type: "put", kv: kv("/jobs/bad", '{"version":"1"}', 3, 3), revision: 3 }, all), null);
});

const jobCases: { name: string; event: WatchEvent; jobs: string[]; want: boolean }[] = [
  { name: "the job itself", event: { type: "updated", kind: "job", name: "web", revision: 1, object: null }, jobs: ["web"], want: true },
  { name: "another job", event: { type: "updated", kind: "job", name: "web2", revision: 1, object: null }, jobs: ["web"], want: false },
  { name: "a task of the job", event: { type: "added", kind: "task", name: "web/0", revision: 1, object: null }, jobs: ["api", "web"], want: true },
  { name: "a task of a job whose name extends it", event: { type: "added", kind: "task", name: "web-x/0", revision: 1, object: null }, jobs: ["web"], want: false },
  { name: "a version of the job", event: { type: "added", kind: "version", name: "web/3", revision: 1, object: null }, jobs: ["web"], want: true },
  { name: "an attempt of the job", event: { type: "added", kind: "attempt", name: "a1", revision: 1, object: { job: "web" } as Attempt }, jobs: ["web"], want: true },
  { name: "an attempt of another job", event: { type: "updated", kind: "attempt", name: "a1", revision: 1, object: { job: "api" } as Attempt }, jobs: ["web"], want: false },
  { name: "a removed attempt of another job", event: { type: "removed", kind: "attempt", name: "a1", revision: 1, object: { job: "api" } as Attempt }, jobs: ["web"], want: false },
  { name: "a removed attempt of the job", event: { type: "removed", kind: "attempt", name: "a1", revision: 1, object: { job: "web" } as Attempt }, jobs: ["web"], want: true },
  { name: "a removal the store did not describe (never miss one)", event: { type: "removed", kind: "attempt", name: "a1", revision: 1, object: null }, jobs: ["web"], want: true },
  { name: "an endpoint of the job's service", event: { type: "removed", kind: "endpoint", name: "web/0", revision: 1, object: { job: "web" } as Endpoint }, jobs: ["web"], want: true },
  { name: "an endpoint of another service", event: { type: "added", kind: "endpoint", name: "api/0", revision: 1, object: { job: "api" } as Endpoint }, jobs: ["web"], want: false },
  { name: "no job filter", event: { type: "added", kind: "task", name: "api/0", revision: 1, object: null }, jobs: [], want: true },
];
for (const c of jobCases) {
  void test(`matchesJobs: ${c.name}`, () => assert.equal(matchesJobs(c.event, c.jobs), c.want));
}

const hostCases: { name: string; event: WatchEvent; hosts: string[]; want: boolean }[] = [
  { name: "the host itself", event: { type: "updated", kind: "host", name: "h1", revision: 1, object: null }, hosts: ["h1"], want: true },
  { name: "another host", event: { type: "updated", kind: "host", name: "h10", revision: 1, object: null }, hosts: ["h1"], want: false },
  { name: "the host's liveness", event: { type: "removed", kind: "alive", name: "h1", revision: 1, object: null }, hosts: ["h1", "h2"], want: true },
  { name: "a task on the host", event: { type: "updated", kind: "task", name: "web/0", revision: 1, object: { hostId: "h1" } as Task }, hosts: ["h1"], want: true },
  { name: "an unplaced task", event: { type: "updated", kind: "task", name: "web/0", revision: 1, object: { hostId: null } as Task }, hosts: ["h1"], want: false },
  { name: "an attempt on another host", event: { type: "added", kind: "attempt", name: "a1", revision: 1, object: { hostId: "h2" } as Attempt }, hosts: ["h1"], want: false },
  { name: "a removed attempt on the host", event: { type: "removed", kind: "attempt", name: "a1", revision: 1, object: { hostId: "h1" } as Attempt }, hosts: ["h1"], want: true },
  { name: "an endpoint on the host", event: { type: "added", kind: "endpoint", name: "web/0", revision: 1, object: { hostId: "h1" } as Endpoint }, hosts: ["h1"], want: true },
  { name: "an endpoint on another host", event: { type: "removed", kind: "endpoint", name: "web/0", revision: 1, object: { hostId: "h2" } as Endpoint }, hosts: ["h1"], want: false },
  { name: "a job (on no host)", event: { type: "added", kind: "job", name: "web", revision: 1, object: null }, hosts: ["h1"], want: false },
  { name: "no host filter", event: { type: "added", kind: "job", name: "web", revision: 1, object: null }, hosts: [], want: true },
];
for (const c of hostCases) {
  void test(`matchesHosts: ${c.name}`, () => assert.equal(matchesHosts(c.event, c.hosts), c.want));
}

void test("filteredWatchEvent: a task that moves off a watched host is sent once more, then no longer", () => {
  const task = (hostId: string | null): string => JSON.stringify({ job: "web", index: 0, version: 1, hostId, attemptId: null, failures: 0, avoidHosts: [], unplacedReason: null });
  const decodes = toWatchEvent({ type: "put", kv: kv("/tasks/web/000000", task("h1"), 3, 3), revision: 3 }, all);
  assert.ok(decodes, "the fixture is a stored task (else this test proves nothing)");
  const filter = { jobs: [], hosts: ["h1"] };
  const moved = filteredWatchEvent({ type: "put", kv: kv("/tasks/web/000000", task("h2"), 3, 8), revision: 8, prevKv: kv("/tasks/web/000000", task("h1"), 3, 3) }, all, filter);
  assert.equal(moved?.kind === "task" ? moved.object?.hostId : "?", "h2");
  assert.equal(filteredWatchEvent({ type: "put", kv: kv("/tasks/web/000000", task(null), 3, 9), revision: 9, prevKv: kv("/tasks/web/000000", task("h2"), 3, 8) }, all, filter), null);
});

void test("a rollout streams as its typed object, and belongs to its job", async () => {
  const { startRollout } = await import("./reconcile/rollout-start.ts");
  const { specOf } = await import("./testing/fixtures.ts");
  const r = startRollout({ job: "web", version: 2, from: 1, cause: "apply", spec: specOf({ replicas: 2 }), tasks: [{ index: 0, domain: null }, { index: 1, domain: null }], now: 5 });
  const ev = toWatchEvent({ type: "put", kv: kv("/rollouts/web/0000000001", JSON.stringify(r), 7, 7), revision: 7 }, all);
  assert.deepEqual(ev, { type: "added", kind: "rollout", name: "web/1", revision: 7, object: r });
  assert.ok(ev && matchesJobs(ev, ["web"]) && !matchesJobs(ev, ["api"]));
  assert.equal(toWatchEvent({ type: "put", kv: kv("/rollouts/web/0000000001", JSON.stringify({ ...r, state: "sideways" }), 7, 8), revision: 8 }, all), null, "a value of another shape is not streamed");
});
