import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeApi } from "../../api/fake.ts";
import type { JobSpec } from "../../model/job.ts";
import { memoryIo } from "../io.ts";
import { main } from "../main.ts";
import * as data from "../testdata.ts";
import { examplesFile } from "./dev.ts";

// A scripted fake (src/api/fake.ts) on purpose: a task that never becomes ready (the --wait deadline)
// is a state a real cluster reaches only by timing. Applies against real servers and agents, through
// the real argv: test/readme.test.ts (the tour) and test/cli-dev.test.ts.
function fakeCluster(ready: boolean) {
  const applied: JobSpec[] = [];
  const api = startFakeApi({
    "POST /v1/jobs": (_req, res, body) => {
      const spec = (JSON.parse(body) as { spec: JobSpec }).spec;
      applied.push(spec);
      res.end(JSON.stringify({ name: spec.name, version: 1, changed: true, revision: applied.length }));
    },
    // The example's jobs offer services: apply checks their names against the cluster's first.
    "GET /v1/services": { body: [] },
    "GET /v1/jobs/web": { body: data.status(1, [0, 1, 2].map((i) => data.task(i, 1, ready || i > 0 ? "healthy" : "starting"))) },
    "GET /v1/jobs/worker": {
      body: { ...data.status(1, [0, 1].map((i) => data.task(i, 1, "running")), { replicas: 2, health: null }), name: "worker" },
    },
  });
  return { api, applied };
}

void test("apply: the example file loads, each job is sent, progress is followed until ready", async (t) => {
  const { api: started, applied } = fakeCluster(true);
  const api = await started;
  t.after(() => api.close());
  const io = memoryIo({ TIFFIN_ADDR: api.url, TIFFIN_TOKEN: "t", TIFFIN_HOME: "/nonexistent" });
  assert.equal(await main(["apply", examplesFile], io), 0, io.stderr);
  assert.deepEqual(applied.map((s) => [s.name, s.replicas]), [["web", 3], ["worker", 2]]);
  assert.match(applied[0]?.files["server.mjs"]?.content ?? "", /createServer/, "the program is shipped in files");
  assert.match(io.stdout, /^job web: version 1 applied\njob worker: version 1 applied\n/);
  assert.match(io.stdout, /web v1: 3\/3 running, 3\/3 healthy ✓ · worker v1: 2\/2 running ✓\n$/);
});

void test("apply --json prints the ApplyResults; --no-wait does not poll", async (t) => {
  const { api: started } = fakeCluster(false);
  const api = await started;
  t.after(() => api.close());
  const io = memoryIo({ TIFFIN_ADDR: api.url, TIFFIN_TOKEN: "t", TIFFIN_HOME: "/nonexistent" });
  assert.equal(await main(["apply", examplesFile, "--json", "--no-wait"], io), 0, io.stderr);
  assert.deepEqual(JSON.parse(io.stdout), [
    { name: "web", version: 1, changed: true, revision: 1 },
    { name: "worker", version: 1, changed: true, revision: 2 },
  ]);
  assert.deepEqual(api.requests.filter((r) => r.method === "GET").map((r) => r.url), ["/v1/services?namespace=*"], "only the services' check (every namespace's, for uses NS/NAME), no poll");
});

void test("apply past --wait: exit 1 naming the task that is not ready", async (t) => {
  const { api: started } = fakeCluster(false);
  const api = await started;
  t.after(() => api.close());
  const io = memoryIo({ TIFFIN_ADDR: api.url, TIFFIN_TOKEN: "t", TIFFIN_HOME: "/nonexistent" });
  assert.equal(await main(["apply", examplesFile, "--wait", "700ms"], io), 1);
  assert.match(io.stderr, /^error\[TIFFIN_TIMEOUT\]: not every task of web v1 was ready after 1s\n {2}web\/0: starting on dev-1\nhint: the apply is stored/);
});

void test("apply: files that pass the per-file limit but not the server's request limit are refused before sending, exit 2, pointing at packages", async (t) => {
  const { api: started, applied } = fakeCluster(true);
  const api = await started;
  t.after(() => api.close());
  const dir = mkdtempSync(join(tmpdir(), "tiffin-apply-big-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "big.json");
  writeFileSync(file, JSON.stringify({ name: "big", command: ["./big"], files: { a: "a".repeat(1_000_000), b: "b".repeat(1_000_000) } }));
  const io = memoryIo({ TIFFIN_ADDR: api.url, TIFFIN_TOKEN: "t", TIFFIN_HOME: "/nonexistent" });
  assert.equal(await main(["apply", file, "--no-wait"], io), 2, io.stderr);
  assert.match(io.stderr, /big\.json: files: the job is 195\d KiB as sent to the server .* over its 1024 KiB request limit: .*package/);
  assert.deepEqual(applied, []);
});
