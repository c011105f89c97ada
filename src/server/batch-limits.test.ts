// A run at the stated limit of 10,000 items through the real server (child process, SQLite) and two
// simulated agents whose items exit 0 at once (issue 18): a spec with 10,000 work items fits the
// apply request; the run needs 200 of them (success: N of M), so it ends early and the 9,000-odd items
// that never started read as cancelled; `GET` answers all 10,000 items; no task is left on a host.
// Over the limit, the server's own check refuses the spec (a client that skips the CLI's check) with
// the number, and a start with a parameter over its limit is refused with the field.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { ApiClient } from "../api/client.ts";
import { TiffinError } from "../model/index.ts";
import { compileJobs } from "../spec/validate.ts";
import { SimAgent, startServerProcess } from "./testing/cluster.ts";
import type { ServerProcess } from "./testing/cluster.ts";
import { tempDir } from "./testing/harness.ts";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

void test("a run of 10,000 items (the limit), and over the limits refused with the numbers", { timeout: 60_000 }, async (t) => {
  const dataDir = tempDir();
  let server: ServerProcess | null = null;
  const agents: SimAgent[] = [];
  t.after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  server = await startServerProcess({ dataDir, endpoints: null, prefix: "", timing: { heartbeatMs: 1000 } });
  const s = server;
  for (const name of ["sim-0", "sim-1"]) agents.push(new SimAgent([s.url], name, { cores: 64, memoryMiB: 65_536 }, { finishBatch: true }));
  await Promise.all(agents.map((a) => a.start(s.joinToken, { heartbeatMs: 1000 })));
  // 10,000 work items of 40 characters: 400 KB of items, inside the request and the items' limit.
  const items = Array.from({ length: 10_000 }, (_, i) => `shard-${String(i).padStart(5, "0")}-${"x".repeat(28)}`);
  const { specs, problems } = compileJobs({ name: "wide", command: "true", isolation: "none", resources: { cpu: 0.01, memory: 1, disk: 1 }, batch: { items, parallelism: 200, success: 200 } }, "test");
  assert.deepEqual(problems, []);
  const spec = specs[0];
  assert.ok(spec?.batch);
  await s.api.apply(spec);

  let run = await s.api.startRun("wide");
  assert.equal(run.items.length, 10_000);
  // Polled as `tiffin run --wait` does; each answer is 10,000 items, so a patient client on a loaded machine.
  const patient = new ApiClient({ addr: s.url, token: s.adminToken, timeoutMs: 20_000 });
  while (run.state === "queued" || run.state === "running") {
    await sleep(250);
    run = await patient.run("wide", run.id);
  }
  assert.equal(run.state, "succeeded", run.reason ?? "");
  assert.match(run.reason ?? "", /of 10000 items succeeded/);
  const by = (st: string): number => run.items.filter((i) => i.state === st).length;
  assert.ok(by("succeeded") >= 200, `${by("succeeded")} succeeded`);
  assert.equal(by("succeeded") + by("cancelled"), 10_000, "every item succeeded or was cancelled with its run");
  assert.deepEqual(run.items.map((i) => i.index), items.map((_, i) => i), "every item, in order");
  // The run's end freed every host (the items still running were stopped and their tasks deleted).
  for (;;) {
    const hosts = await s.api.hosts();
    if (hosts.every((h) => h.tasks === 0)) break;
    await sleep(100);
  }

  // Over the limits, as a client that skips the CLI's own check would send them.
  const refused = async (p: Promise<unknown>, path: RegExp, message: RegExp): Promise<void> => {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof TiffinError, String(err));
      const found = err.problems.find((x) => path.test(x.path));
      assert.ok(found, JSON.stringify(err.problems));
      assert.match(found.message, message);
      return true;
    });
  };
  await refused(s.api.apply({ ...spec, name: "wider", batch: { ...spec.batch, items: null, completions: 10_001 } }), /^batch\.completions$/, /10000/);
  await refused(s.api.startRun("wide", { params: { big: "x".repeat(65_537) } }), /params/, /at most 65536 characters/);
});
