// Adaptive limits end to end: a real `tiffin server` (its usage history shortened to one sample per
// task per second and its recommender to 4 samples) and a real agent running sandboxed tasks that hold
// about 20 MiB while asking for 512Mi. `tiffin recommend` first says why there is no recommendation,
// then shows a lower memory with its evidence; `--write` rewrites the spec file and `tiffin plan`
// shows it as a resource change that replaces the task; a job with `resources.adapt` gets a new
// version by "tiffin recommender" (bounded by its min, seen in `tiffin history`), once per `every`.
// Bad `adapt` settings are refused with their field paths.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { TestContext } from "node:test";
import type { JobVersion, Recommendation } from "../src/model/index.ts";
import { Cluster, takingTurns, waitFor } from "./harness.ts";

/** Runs the real CLI against the cluster (a temporary HOME), in the cluster's directory. */
async function cli(c: Cluster, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const bin = join(import.meta.dirname, "..", "bin", "tiffin.js");
  return await new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: c.dir, env: { ...process.env, HOME: c.dir, TIFFIN_HOME: c.dir, TIFFIN_ADDR: c.url, TIFFIN_TOKEN: c.adminToken } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr });
    });
  });
}

// The shell holds ~20 MB in a variable while it waits for sleep.
const lean = `["sh", "-c", "x=$(head -c 20000000 /dev/zero | tr '\\\\0' a); sleep 600"]`;

/** Starts a one-agent cluster whose server reads `env` (TIFFIN_<FLAG> settings), in its turn: the
 * variables are this process's while the server starts, and no other start runs meanwhile. */
async function start(t: TestContext, env: Record<string, string>): Promise<Cluster> {
  return await inTurn(async () => {
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    let c: Cluster;
    try {
      c = await Cluster.start({ agents: 1 });
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
    t.after(() => c.stop());
    return c;
  });
}

// The two tests run at once, each on its own cluster: both mostly wait for usage samples (one a
// second) and have no upper bound on time but their waits' timeouts. Their set-ups take turns (see
// start). (One after the other, the file took 39 s of CI's serial e2e time.)
const inTurn = takingTurns();

void describe("recommend", { concurrency: true }, () => {
  void test("a task using far less than it asks: recommend, --write, plan, and adapt", { timeout: 240_000 }, async (t) => {
    const c = await start(t, { TIFFIN_USAGE_BUCKET: "1s", TIFFIN_RECOMMEND_MIN_SAMPLES: "4", TIFFIN_ADAPT_CHECK: "1s" });

    // Bad adapt settings: every problem with its field path, nothing sent.
    writeFileSync(join(c.dir, "bad.ts"), `import { job } from "tiffin";\nexport default [\n  job({ name: "bad", command: ["true"], resources: { adapt: { min: { memory: "1Gi" }, max: { memory: "512Mi" } } } }),\n  job({ name: "odd", command: ["true"], resources: { adapt: { often: true } } }),\n];\n`);
    const bad = await cli(c, ["plan", "bad.ts"]);
    assert.equal(bad.code, 2, bad.err);
    assert.match(bad.err, /bad\.ts: jobs\[0\]\.resources\.adapt\.min\.memory: the minimum \(1024 MiB\) is above the maximum \(512 MiB\)/);
    assert.match(bad.err, /bad\.ts: jobs\[1\]\.resources\.adapt\.often: unknown field "often"/);

    const file = join(c.dir, "lean.ts");
    writeFileSync(file, `import { job } from "tiffin";\n\nexport default [\n  job({\n    name: "lean",\n    command: ${lean},\n    resources: { cpu: 0.5, memory: "512Mi" }, // generous\n  }),\n  job({\n    name: "adaptive",\n    command: ${lean},\n    resources: { cpu: 0.5, memory: "512Mi", adapt: { min: { memory: "48Mi" }, every: "1h" } },\n  }),\n];\n`);
    const applied = await cli(c, ["apply", file]);
    assert.equal(applied.code, 0, applied.out + applied.err);

    const early = await cli(c, ["recommend", "lean"]);
    assert.equal(early.code, 0, early.err);
    assert.match(early.out, /no recommendation: too little history: (no usage samples|\d usage samples?) in the last 24h; a recommendation needs at least 4/);

    const rec = await waitFor("a recommendation for lean", 90_000, async () => {
      const r = await cli(c, ["recommend", "lean", "--json"]);
      const v = JSON.parse(r.out) as Recommendation;
      return v.recommended !== null ? v : undefined;
    }, 1000);
    assert.ok(rec.recommended !== null && rec.recommended.memoryMiB >= 24 && rec.recommended.memoryMiB <= 96, JSON.stringify(rec));
    assert.ok(rec.evidence.samples >= 4 && rec.evidence.memory.peakMiB !== null && rec.evidence.memory.peakMiB >= 19, JSON.stringify(rec.evidence));
    assert.equal(rec.recommended.diskMiB, rec.current.diskMiB);
    // The helper's cgroup throttling counter reached the server's history through the agent.
    const samples = (await c.api<unknown[]>("GET", "/v1/tasks/lean/0/usage")).body;
    assert.notEqual(rec.evidence.cpu.throttledShare, null, `CPU quota periods sampled (cpu.stat): ${JSON.stringify(samples)}`);
    const shown = await cli(c, ["recommend", "lean"]);
    assert.match(shown.out, /memory +512Mi +\d+Mi +peak [\d.]+ MiB over \d+ samples \+ 15% headroom/);
    assert.match(shown.out, /evidence: cpu p50 .* memory p50 .* peak [\d.]+ MiB/);

    // --write: the figures in the file, then plan shows the change and that the task is replaced.
    const before = readFileSync(file, "utf8");
    const wrote = await cli(c, ["recommend", "lean", "--write", file]);
    assert.equal(wrote.code, 0, wrote.err);
    assert.match(wrote.out, /wrote cpu [\d.]+, memory \d+Mi for job lean/);
    const after = readFileSync(file, "utf8");
    const mem = `${rec.recommended.memoryMiB}Mi`;
    assert.equal(after, before.replace('resources: { cpu: 0.5, memory: "512Mi" }, // generous', `resources: { cpu: ${rec.recommended.cpu}, memory: "${mem}" }, // generous`), "a minimal edit of lean's resources");
    const plan = await cli(c, ["plan", file]);
    assert.equal(plan.code, 0, plan.err);
    assert.match(plan.out, /job lean: version 1 -> 2/);
    assert.match(plan.out, /resources/);
    assert.match(plan.out, /lean\/0 +replace/);
    assert.equal((await c.status("lean")).version, 1, "nothing applied by --write or plan");

    // adapt: a new version by the recommender, bounded by min 48Mi, with its message; once per hour.
    const v2 = await waitFor("an adapted version of adaptive", 90_000, async () => {
      const vs = (await c.api<JobVersion[]>("GET", "/v1/jobs/adaptive/versions")).body;
      return vs.find((v) => v.version === 2);
    }, 500);
    assert.equal(v2.by, "tiffin recommender");
    assert.match(v2.message ?? "", /^adapted from usage: memory 512 -> \d+ MiB/);
    assert.ok(v2.spec.resources.memoryMiB >= 48 && v2.spec.resources.memoryMiB < 512, JSON.stringify(v2.spec.resources));
    assert.deepEqual(v2.spec.adapt, { min: { cpu: null, memoryMiB: 48 }, max: { cpu: null, memoryMiB: null }, everyMs: 3_600_000 });
    const history = await cli(c, ["history", "adaptive"]);
    assert.match(history.out, /tiffin recommender/);
    await c.waitRunning("adaptive", 30_000);
    const st = await c.status("adaptive");
    assert.equal(st.version, 2);
    assert.ok(st.tasks.every((x) => x.version === 2), "the task runs the adapted version");
    const later = await cli(c, ["recommend", "adaptive"]);
    assert.match(later.out, /adapt: (no significant change|would apply.*at most every 1h)/);
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await c.status("adaptive")).version, 2, "no second adapted version within `every`");
  });

  void test("a task OOM-killed at its limit is never recommended less than that limit", { timeout: 240_000 }, async (t) => {
    const c = await start(t, { TIFFIN_USAGE_BUCKET: "1s", TIFFIN_RECOMMEND_MIN_SAMPLES: "3" });
    // ~100 MB into a 32Mi limit: every attempt ends by the OOM stop, soon after its first samples.
    const file = join(c.dir, "hungry.ts");
    writeFileSync(file, `import { job } from "tiffin";\nexport default job({ name: "hungry", command: ["sh", "-c", "sleep 3; x=$(head -c 100000000 /dev/zero | tr '\\\\0' a); sleep 600"], resources: { cpu: 0.5, memory: "32Mi" }, restart: { backoff: { initial: "200ms", max: "1s" }, moveAfterFailures: 50 } });\n`);
    const applied = await cli(c, ["apply", file, "--no-wait"]);
    assert.equal(applied.code, 0, applied.out + applied.err);
    const rec = await waitFor("a recommendation with the OOM kills", 120_000, async () => {
      const r = JSON.parse((await cli(c, ["recommend", "hungry", "--json"])).out) as Recommendation;
      return r.recommended !== null && r.evidence.memory.oomKills >= 1 ? r : undefined;
    }, 1000);
    assert.equal(rec.evidence.memory.oomLimitMiB, 32);
    assert.ok(rec.recommended !== null && rec.recommended.memoryMiB >= 40, `at least 32Mi + 15%: ${JSON.stringify(rec.recommended)}`);
    const shown = await cli(c, ["recommend", "hungry"]);
    assert.match(shown.out, /memory +32Mi +\d+Mi +OOM-killed \d+ times? with a limit of 32 MiB: that limit \+ 15%, never less/);
  });
});
