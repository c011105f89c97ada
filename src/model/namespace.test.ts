import { test } from "node:test";
import assert from "node:assert/strict";
import { cliJob, idToRef, isNamespace, jobId, quoteId, refToId, resourceOfId, showId, showTask, splitJobId } from "./namespace.ts";

const ids: { name: string; ns: string; job: string; id: string }[] = [
  { name: "the default namespace keeps the plain name (old state needs nothing)", ns: "default", job: "web", id: "web" },
  { name: "another namespace is NAME.NS", ns: "team-a", job: "web", id: "web.team-a" },
  { name: "a digit-led namespace", ns: "0ps", job: "db", id: "db.0ps" },
  { name: "dashes on both sides", ns: "a-b", job: "x-y", id: "x-y.a-b" },
];

void test("jobId and splitJobId are inverse", () => {
  for (const c of ids) {
    assert.equal(jobId(c.ns, c.job), c.id, c.name);
    assert.deepEqual(splitJobId(c.id), { namespace: c.ns, name: c.job }, c.name);
  }
});

void test("two namespaces' same-named jobs get different ids", () => {
  assert.notEqual(jobId("team-a", "web"), jobId("team-b", "web"));
  assert.notEqual(jobId("team-a", "web"), jobId("default", "web"));
});

const refs: { name: string; ref: string; owner: string; id: string; back: string }[] = [
  { name: "a plain name is the owner's namespace (default)", ref: "db", owner: "web", id: "db", back: "db" },
  { name: "a plain name is the owner's namespace (team-a)", ref: "db", owner: "web.team-a", id: "db.team-a", back: "db" },
  { name: "NS/NAME names another namespace", ref: "team-b/db", owner: "web.team-a", id: "db.team-b", back: "team-b/db" },
  { name: "default/NAME from another namespace", ref: "default/db", owner: "web.team-a", id: "db", back: "default/db" },
  { name: "its own namespace written out", ref: "team-a/db", owner: "web.team-a", id: "db.team-a", back: "db" },
];

void test("references between namespaces (uses)", () => {
  for (const c of refs) {
    assert.equal(refToId(c.ref, c.owner), c.id, c.name);
    assert.equal(idToRef(c.id, c.owner), c.back, c.name);
  }
});

void test("namespace names, resources and how ids are shown", () => {
  const valid: [string, boolean][] = [["default", true], ["team-a", true], ["0", true], ["", false], ["Team", false], ["a.b", false], ["a/b", false], ["*", false], ["-a", false], ["a".repeat(64), false]];
  for (const [ns, want] of valid) assert.equal(isNamespace(ns), want, ns);
  assert.equal(resourceOfId("web"), "ns/default");
  assert.equal(resourceOfId("web.team-a"), "ns/team-a");
  assert.equal(showId("web"), "web");
  assert.equal(showId("web.team-a"), "web (namespace team-a)");
  const shown: [string, string, string, string][] = [
    ["web", '"web"', "web/2", "web"],
    ["web.team-a", '"web" (namespace team-a)', "web/2 (namespace team-a)", "-n team-a web"],
  ];
  for (const [id, quoted, task, cli] of shown) assert.deepEqual([quoteId(id), showTask(id, 2), cliJob(id)], [quoted, task, cli], id);
});
