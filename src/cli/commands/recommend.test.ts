// `tiffin recommend --write` on real spec files: a TypeScript file importing shared defaults, JSON and
// YAML are rewritten in place (only the job's figures change, and the file then loads with exactly
// the recommended resources); a job whose resources come from elsewhere, and an edit that would change
// another job too, are refused and leave the file as it was. The rendering of a recommendation.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { Recommendation } from "../../model/index.ts";
import { TiffinError } from "../../model/index.ts";
import { ApiClient } from "../../api/client.ts";
import { compileJobs, loadSpecFile } from "../../spec/api.ts";
import { cliWithServer } from "../real-cli.ts";
import { renderRecommendation, renderWrite, writeRecommendation } from "./recommend.ts";

function rec(job: string, over: Partial<Recommendation> = {}): Recommendation {
  return {
    job, version: 2, current: { cpu: 1, memoryMiB: 512, diskMiB: 256 }, recommended: { cpu: 0.15, memoryMiB: 32, diskMiB: 256 }, reason: null,
    changes: [
      { field: "memoryMiB", from: 512, to: 32, why: "peak 20.3 MiB over 120 samples + 15% headroom" },
      { field: "cpu", from: 1, to: 0.15, why: "p95 0.1 cores over 120 samples + 15% headroom" },
    ],
    policy: { windowMs: 86_400_000, percentile: 0.95, headroom: 0.15, minSamples: 60 },
    evidence: { from: 1_000, to: 7_200_000, samples: 120, tasks: 1, cpu: { p50: 0.1, pct: 0.1, peak: 0.2, throttledShare: 0 }, memory: { p50MiB: 20, p99MiB: 20.3, peakMiB: 20.3, trendMiBPerHour: 0, oomKills: 0, oomLimitMiB: null },
      perTask: [{ index: 0, samples: 120, cpuP50: 0.1, cpuPct: 0.1, cpuPeak: 0.2, memoryP50MiB: 20, memoryP99MiB: 20.3, memoryPeakMiB: 20.3 }] },
    adapt: null,
    ...over,
  };
}

void test("recommend --write: TypeScript, JSON and YAML files rewritten, checked by loading them", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-recommend-write-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files: Record<string, string> = {
    "team.ts": `export const team = { restart: { moveAfterFailures: 3 } };\n`,
    "app.ts": `import { job } from "tiffin";\nimport { team } from "./team.ts";\n\nexport default [\n  job({ ...team, name: "web", command: ["./web"], resources: { cpu: 1, memory: "512Mi" } }), // the site\n  job({ ...team, name: "api", command: ["./api"], resources: { cpu: 1, memory: "512Mi" } }),\n];\n`,
    "app.json": `{\n  "name": "web",\n  "command": ["./web"],\n  "resources": { "cpu": 1, "memory": "512Mi" }\n}\n`,
    "app.yaml": `# web\nname: web\ncommand: ./web\nresources:\n  memory: 512Mi # plenty\n`,
  };
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  for (const f of ["app.ts", "app.json", "app.yaml"]) {
    const file = path.join(dir, f);
    const before = await loadSpecFile(file);
    const w = await writeRecommendation(file, rec("web"));
    assert.equal(w.changed, true, f);
    const after = await loadSpecFile(file);
    const web = after.find((s) => s.name === "web")!;
    assert.deepEqual(web.resources, { cpu: 0.15, memoryMiB: 32, diskMiB: 256 }, f);
    assert.deepEqual(after.filter((s) => s.name !== "web"), before.filter((s) => s.name !== "web"), `${f}: other jobs unchanged`);
    assert.deepEqual({ ...web, resources: null }, { ...before.find((s) => s.name === "web")!, resources: null }, `${f}: nothing else of web changed`);
    assert.match(renderWrite(w), /wrote cpu 0\.15, memory 32Mi for job web/, f);
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes("tiffin-recommend")), [], "no temp file left");
    // Again: nothing to do.
    assert.equal((await writeRecommendation(file, rec("web"))).changed, false, `${f}: written once`);
  }
  assert.equal(fs.readFileSync(path.join(dir, "app.ts"), "utf8"), files["app.ts"]!.replace('resources: { cpu: 1, memory: "512Mi" } }), // the site', 'resources: { cpu: 0.15, memory: "32Mi" } }), // the site'));
  assert.equal(fs.readFileSync(path.join(dir, "app.yaml"), "utf8"), "# web\nname: web\ncommand: ./web\nresources:\n  memory: 32Mi # plenty\n  cpu: 0.15\n");
});

void test("recommend --write refuses what a text edit cannot change for this job alone, and leaves the file", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-recommend-refuse-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cases: [string, string, RegExp][] = [
    ["spread.ts", `import { job } from "tiffin";\nconst team = { resources: { cpu: 1, memory: "512Mi" } };\nexport default job({ ...team, name: "web", command: ["./web"] });\n`, /job "web" has no resources: \{\.\.\.\} of its own here/],
    // The literal is web's, but a second job is made from the same function: the check by loading catches it.
    ["shared.ts", `import { job } from "tiffin";\nconst make = () => ({ name: "web", command: ["./web"], resources: { cpu: 1, memory: "512Mi" } });\nexport default [job(make()), job({ ...make(), name: "web2" })];\n`, /would change more than this job's cpu and memory \(\[1\]\.resources/],
  ];
  for (const [f, text, want] of cases) {
    const file = path.join(dir, f);
    fs.writeFileSync(file, text);
    await assert.rejects(writeRecommendation(file, rec("web")), (err: unknown) => {
      assert.ok(err instanceof TiffinError && err.code === "TIFFIN_SPEC_EDIT", String(err));
      assert.match(err.message, want);
      assert.match(err.hint ?? "", /set its resources to \{ cpu: 0\.15, memory: "32Mi" \} yourself/);
      return true;
    }, f);
    assert.equal(fs.readFileSync(file, "utf8"), text, `${f} is left as it was`);
  }
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes("tiffin-recommend")), [], "no temp file left");
  const file = path.join(dir, "spread.ts");
  await assert.rejects(writeRecommendation(file, rec("web", { recommended: null, reason: "too little history: 3 usage samples" })), /TIFFIN_NO_RECOMMENDATION|no recommendation for job "web" yet: too little history/);
  await assert.rejects(writeRecommendation(file, rec("nope")), /has no job named "nope" \(it has: web\)/);
});

void test("renderRecommendation: the table, the evidence, or why there is none", () => {
  const text = renderRecommendation(rec("web", { adapt: { target: { cpu: 0.15, memoryMiB: 64, diskMiB: 256 }, note: "applies (within the job's adapt bounds) as a new version" } }));
  assert.match(text, /^job web \(version 2\): 120 samples of 1 task from .* \(window 24h, cpu p95, headroom 15%\)\n/);
  assert.match(text, /cpu +1 +0\.15 +p95 0\.1 cores over 120 samples \+ 15% headroom/);
  assert.match(text, /memory +512Mi +32Mi +peak 20\.3 MiB/);
  assert.match(text, /disk +256Mi +256Mi +not sampled: unchanged/);
  assert.match(text, /evidence: cpu p50 0\.1, p95 0\.1, peak 0\.2 cores, throttled 0%; memory p50 20, p99 20\.3, peak 20\.3 MiB, trend 0 MiB\/h; OOM kills 0/);
  assert.match(text, /adapt: applies \(within the job's adapt bounds\) as a new version/);
  assert.doesNotMatch(text, /per task:/, "one task: no per-task line");
  const two = rec("web");
  two.evidence.perTask.push({ index: 1, samples: 60, cpuP50: 0.5, cpuPct: 0.9, cpuPeak: 1, memoryP50MiB: 90, memoryP99MiB: 99, memoryPeakMiB: 99.5 });
  assert.match(renderRecommendation(two), /per task: web\/0 peak 20\.3 MiB, p95 0\.1 cores \(120 samples\); web\/1 peak 99\.5 MiB, p95 0\.9 cores \(60 samples\)/);
  assert.match(renderRecommendation(rec("web", { recommended: null, reason: "too little history: 3 usage samples in the last 24h" })), /no recommendation: too little history: 3 usage samples in the last 24h/);
  // Another namespace's job (tiffin recommend -A): its namespace beside its name.
  assert.match(renderRecommendation({ ...rec("web", { recommended: null, reason: "none" }), namespace: "team-a" }), /^job web \(namespace team-a\) \(version /);
});

void test("tiffin recommend through its real argv against a real server: every job, an unknown job, --write without a job", { timeout: 60_000 }, async (t) => {
  const { run, server } = await cliWithServer(t, "recommend-argv");
  await new ApiClient({ addr: server.url, token: server.adminToken }).apply(compileJobs({ name: "web", command: ["./web"], replicas: 0 }, null).specs[0]!);
  const all = await run("recommend");
  assert.equal(all.code, 0, all.err);
  assert.match(all.out, /^job web \(version 1\): 0 samples of 0 tasks \(window 24h, cpu p95, headroom 15%\)\nno recommendation: too little history: no usage samples in the last 24h; a recommendation needs at least 60/);
  const json = await run("recommend", "--json");
  assert.deepEqual((JSON.parse(json.out) as Recommendation[]).map((r) => [r.job, r.recommended]), [["web", null]]);
  const unknown = await run("recommend", "nope");
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /error\[TIFFIN_NOT_FOUND\]: job "nope" not found/);
  const noJob = await run("recommend", "--write", "tiffin.ts");
  assert.equal(noJob.code, 2);
  assert.match(noJob.err, /--write needs the job: tiffin recommend JOB --write FILE/);
});
