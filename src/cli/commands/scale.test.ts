// `tiffin scale JOB N` through bin/tiffin.js as a process against a real server (SQLite file in a
// temp dir): a new version with the current spec and N replicas, the same N changes nothing, bad
// input is a usage error, an unknown job is said.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { cliWithServer } from "../real-cli.ts";


void test("tiffin scale stores the current spec with N replicas as a new version", async (t) => {
  const { root, run } = await cliWithServer(t, "scale", { TIFFIN_USER: "ana" });
  fs.writeFileSync(path.join(root, "web.json"), JSON.stringify({ name: "web", command: ["web"], replicas: 2, resources: { memory: "64Mi" }, isolation: "none" }));
  let r = await run("apply", "web.json", "--no-wait");
  assert.equal(r.code, 0, r.err);

  r = await run("scale", "web", "5", "--no-wait", "-m", "launch day");
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, "job web: scaled to 5 replicas as version 2\n");
  const status = JSON.parse((await run("status", "web", "--json")).out) as { version: number; spec: { replicas: number; resources: { memoryMiB: number } } };
  assert.equal(status.version, 2);
  assert.equal(status.spec.replicas, 5);
  assert.equal(status.spec.resources.memoryMiB, 64, "the rest of the spec is the current one");
  const history = JSON.parse((await run("history", "web", "--json")).out) as { version: number; by: string | null; message: string | null }[];
  const v2 = history.find((v) => v.version === 2);
  assert.deepEqual([v2?.by, v2?.message], ["ana", "launch day (scale to 5)"]);

  r = await run("scale", "web", "5", "--no-wait");
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, "job web: already at 5 replicas (version 2)\n");

  r = await run("scale", "web", "0", "--json", "--no-wait");
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), { name: "web", version: 3, changed: true, revision: (JSON.parse(r.out) as { revision: number }).revision });

  for (const bad of ["lots", "-1", "10001", "2.5"]) {
    r = await run("scale", "web", bad);
    assert.equal(r.code, 2, bad);
    assert.match(r.err, new RegExp(`^error\\[TIFFIN_USAGE\\]: replicas must be a whole number from 0 to 10000, got "${bad.replace(".", "\\.")}"\\nhint: `));
  }
  r = await run("scale", "nosuch", "2", "--no-wait");
  assert.equal(r.code, 1);
  assert.match(r.err, /^error\[TIFFIN_NOT_FOUND\]: job "nosuch" not found\nhint: list jobs with `tiffin jobs`/);
});
