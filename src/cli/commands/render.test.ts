import { test } from "node:test";
import assert from "node:assert/strict";
import { startFakeApi } from "../../api/fake.ts";
import type { JobSummary } from "../../api/types.ts";
import { memoryIo } from "../io.ts";
import { main } from "../main.ts";
import * as data from "../testdata.ts";
import { dashboardUrl, devHints, renderDevReady } from "./dev.ts";
import { renderDrain } from "./drain.ts";
import { historyEntries, renderHistory, renderVersionDiff, summarizeDiff } from "./history.ts";
import { renderHosts } from "./hosts.ts";
import { renderJobs } from "./jobs.ts";
import { formatReasons, renderPlan } from "./plan.ts";
import type { PlanResult } from "../../api/types.ts";
import type { MetricAction } from "../../model/index.ts";
import { formatReason, formatUsage, renderStatus } from "./status.ts";

const jobs: JobSummary[] = [
  { name: "web", version: 2, replicas: 3, placed: 3, running: 3, healthy: 2, removed: false },
  { name: "old", version: 7, replicas: 1, placed: 1, running: 0, healthy: 0, removed: true },
];

void test("renderJobs: a table with one row per job", () => {
  assert.equal(
    renderJobs(jobs),
    ["NAME  VERSION  REPLICAS  RUNNING  HEALTHY  STATUS", "web   2        3         3        2        active", "old   7        1         0        0        removed", ""].join("\n"),
  );
  assert.match(renderJobs([]), /no jobs yet/);
});

void test("renderStatus: an every-host job says so, with its per-host task count", () => {
  const s = data.status(2, [data.task(0, 2, "healthy"), data.task(2, 2, "healthy")], { replicas: 0, everyHost: true });
  assert.ok((renderStatus(s).split("\n")[0] ?? "").startsWith("job web  version 2  replicas every-host (2 tasks)  cpu"), renderStatus(s));
});

void test("renderStatus: id, host, state, attempt, pid, ports, failures, reason; old versions marked", () => {
  const s = data.status(2, [
    data.task(0, 2, "healthy"),
    data.task(1, 1, "running"),
    data.task(2, 2, "unplaced", { reason: "no host fits", failures: 2 }),
  ]);
  const lines = renderStatus(s).split("\n");
  assert.equal(lines[0], "job web  version 2  replicas 3  cpu 0.25  memory 64Mi  disk 64Mi  stop SIGTERM 5s");
  assert.match(lines[1] ?? "", /^TASK\s+HOST\s+STATE\s+ATTEMPT\s+PID\s+PORTS\s+CPU\s+MEMORY\s+FAILURES\s+PREVIOUS\s+REASON$/);
  assert.match(lines[2] ?? "", /^web\/0\s+dev-1\s+healthy\s+att-0-2\s+1000\s+http=20000\s+-\s+-\s+0\s+-\s+-$/);
  assert.match(lines[3] ?? "", /^web\/1 \(v1\) +dev-2\s+running/);
  assert.match(lines[4] ?? "", /^web\/2\s+-\s+unplaced\s+-\s+-\s+-\s+-\s+-\s+2\s+-\s+no host fits$/);
  const plain = { ...s, spec: { ...s.spec, isolation: "none" as const } };
  assert.equal(renderStatus(plain).split("\n")[0], "job web  version 2  replicas 3  cpu 0.25  memory 64Mi  disk 64Mi  stop SIGTERM 5s  isolation none");
});

void test("renderStatus: how the previous attempt ended (the README's kill -9 shows SIGKILL)", () => {
  const t0 = data.task(0, 2, "running");
  const cur = t0.attempts[0];
  assert.ok(cur);
  const ended = (id: string, createdAt: number, over: Partial<typeof cur>) => ({ ...cur, id, createdAt, pid: 99, state: "exited" as const, ...over });
  const cases: [string, Partial<typeof cur>, RegExp][] = [
    ["killed", { signal: "SIGKILL" }, /\s1\s+SIGKILL\s+-$/],
    ["exit code", { exitCode: 3 }, /\s1\s+exit 3\s+-$/],
    ["stopped by the server", { state: "stopped", signal: "SIGTERM" }, /\s1\s+stopped \(SIGTERM\)\s+-$/],
    ["lost with its host", { state: "lost" }, /\s1\s+lost\s+-$/],
    [
      "stopped for a metric check: which, with what value, when",
      { state: "failed", endCause: "metric", signal: "SIGTERM", metricAction: { check: 0, condition: "errors above 5 for 30s", value: 12.345, since: 0, firedAt: new Date(2026, 11, 6, 10, 4, 5).getTime(), action: "restart", state: "acting", held: null, actedAt: 1 } },
      /\s1\s+metric: errors above 5 for 30s \(12\.3 at 10:04:05\)\s+-$/,
    ],
  ];
  for (const [name, over, want] of cases) {
    // The newest ended attempt counts, not an older one.
    const withOld = { ...t0, failures: 1, attempts: [cur, ended("prev", -1, over), ended("older", -2, { exitCode: 7 })] };
    assert.match(renderStatus(data.status(2, [withOld])).split("\n")[2] ?? "", want, name);
  }
});

void test("renderStatus: a fired metric check on the current attempt: which, value, when, and the budget holding it", () => {
  const at = (h: number, m: number, sec: number): number => new Date(2026, 11, 6, h, m, sec).getTime();
  const base: MetricAction = { check: 1, condition: "errors above 5 for 30s", value: 7.25, since: at(10, 3, 30), firedAt: at(10, 4, 5), action: "restart", state: "waiting", held: null, actedAt: null };
  const cases: [string, Partial<MetricAction>, string][] = [
    ["held by the budget", { held: { at: at(10, 4, 6), budget: 1, down: 1 } }, "metric check 1 fired at 10:04:05 (errors above 5 for 30s: 7.25); restart held back by the job's disruption budget since 10:04:06 (1 task down, at most 1 at a time)"],
    ["held, several down", { held: { at: at(10, 4, 6), budget: 2, down: 3 } }, "metric check 1 fired at 10:04:05 (errors above 5 for 30s: 7.25); restart held back by the job's disruption budget since 10:04:06 (3 tasks down, at most 2 at a time)"],
    ["not held yet", {}, "metric check 1 fired at 10:04:05 (errors above 5 for 30s: 7.25); restart waiting"],
    ["acting, move", { state: "acting", action: "move", value: 0, actedAt: 1 }, "metric check 1 fired at 10:04:05 (errors above 5 for 30s: 0); moving"],
  ];
  const t0 = data.task(0, 2, "running");
  for (const [name, over, want] of cases) {
    const withAction = { ...t0, reason: "server's text", attempts: t0.attempts.map((a) => (a.id === t0.attemptId ? { ...a, metricAction: { ...base, ...over } } : a)) };
    assert.equal(formatReason(withAction), want, name);
    assert.ok((renderStatus(data.status(2, [withAction])).split("\n")[2] ?? "").endsWith(want), `${name}: in the table`);
  }
  assert.equal(formatReason({ ...t0, reason: "r" }), "r", "no action: the server's reason");
});

void test("renderStatus: CPU and memory of the current attempt's latest sample", () => {
  const usage = { at: 1, cpuSeconds: 12, cpuCores: 0.456, memoryBytes: 41 * 1024 * 1024, memoryPeakBytes: 45 * 1024 * 1024, pids: 3 };
  const t0 = data.task(0, 2, "running");
  const withUsage = { ...t0, attempts: t0.attempts.map((a) => (a.id === t0.attemptId ? { ...a, usage } : a)) };
  assert.ok(withUsage.attempts.some((a) => a.usage), "the fixture has the current attempt");
  const lines = renderStatus(data.status(2, [withUsage])).split("\n");
  assert.match(lines[2] ?? "", /^web\/0\s+dev-1\s+running\s+att-0-2\s+1000\s+http=20000\s+0\.46\s+41 MiB \(peak 45\)\s+0\s+-\s+-$/);
  assert.deepEqual(formatUsage({ ...usage, cpuCores: null, memoryBytes: 5 * 1024 * 1024, memoryPeakBytes: null }, "running"), ["-", "5.0 MiB"]);
  assert.deepEqual(formatUsage(usage, "exited"), ["-", "-"], "an ended task uses nothing");
});

void test("renderHosts: cpu and memory as used/total, rack/cluster, draining, sandbox runtime, failing checks, the budget alert", () => {
  const hosts = data.hosts.map((h, i) => (i === 2 ? { ...h, failingChecks: [{ name: "disk", status: "fail" as const, message: "97% full", at: 0 }, { name: "custom:ecc", status: "fail" as const, message: "x", at: 0 }] } : h));
  const out = renderHosts(hosts);
  const lines = out.split("\n");
  assert.match(lines[0] ?? "", /^NAME\s+ID\s+STATUS\s+RACK\/CLUSTER\s+CPU\s+MEMORY MIB\s+TASKS\s+DRAINING\s+SANDBOX\s+FAILING CHECKS$/);
  assert.match(lines[1] ?? "", /^dev-1\s+h1\s+up\s+r1\/c1\s+0\.25\/0\.6\s+64\/2048\s+1\s+no\s+none\s+-$/);
  assert.match(lines[2] ?? "", /^dev-2\s+h2\s+suspect\s+r2\/c1\s+0\.5\/0\.6\s+128\/2048\s+2\s+no\s+none\s+-$/);
  assert.match(lines[3] ?? "", /^dev-3\s+h3\s+up\s+r3\/c2\s+0\.75\/0\.6\s+192\/2048\s+3\s+yes\s+none\s+disk,custom:ecc$/);
  assert.doesNotMatch(out, /ALERT/);
  const alert = { blocked: [{ hostId: "h3", hostName: "dev-3", check: "disk" }], limits: ["hosts"], since: 0, message: "remediation budget spent: 1 failing host held back (hosts limit) of 3" };
  assert.match(renderHosts(hosts, alert), /\nALERT: remediation budget spent: 1 failing host held back \(hosts limit\) of 3\n$/);
});

void test("history: newest first, each summarized by what changed", () => {
  const entries = historyEntries(data.versions);
  assert.deepEqual(
    entries.map((e) => [e.version, e.summary]),
    [
      [2, "replicas 3 -> 5, resources.memory \"64Mi\" -> \"128Mi\""],
      [1, "created: 3 replica(s) of node server.mjs"],
    ],
  );
  assert.match(renderHistory(entries), /^VERSION\s+CREATED\s+BY\s+MESSAGE\s+SUMMARY\n2\s+2026-11-23 12:00:00\s+-\s+-\s+replicas 3 -> 5/);
  assert.equal(summarizeDiff([]), "no changes");
  const many = Array.from({ length: 5 }, (_, i) => ({ path: `env.V${i}`, op: "add" as const, before: undefined, after: "x" }));
  assert.equal(summarizeDiff(many), "+env.V0, +env.V1, +env.V2 (+2 more)");
});

void test("renderVersionDiff uses the shared diff format", () => {
  const out = renderVersionDiff({ name: "web", from: 1, to: 2, diff: [{ path: "replicas", op: "change", before: 3, after: 5 }] });
  assert.equal(out, "job web: version 1 -> 2\n~ replicas = 3 -> 5\n");
});

void test("renderPlan: header, diff, placements in task order with rack, unplaced with reasons", () => {
  assert.equal(
    renderPlan(data.plan),
    [
      "job web: version 1 -> 2",
      "  ~ replicas = 3 -> 4",
      "placement:",
      "  web/0 -> dev-1 (rack r1) [moves]",
      "  web/1 -> dev-2 (rack r2)",
      "unplaced:",
      "  web/3: no host fits (cpu on 2 hosts, not-schedulable on 1 host)",
      "",
    ].join("\n"),
  );
  assert.match(renderPlan({ ...data.plan, current: null, version: 1 }), /^job web: new job, version 1\n/);
  assert.match(renderPlan({ ...data.plan, changed: false, diff: [] }), /^job web: no changes \(version 1\)\nplacement:/);
  assert.equal(formatReasons({}), "no host fits (no hosts are up)");
});

void test("renderPlan: one line per task slot with its action and why; a job that can never run says so", () => {
  const tasks: NonNullable<PlanResult["tasks"]> = [
    { index: 0, action: "keep", reason: "keeps running: only replicas, restart or maintenance changed", hostBefore: "h1", hostAfter: "h1" },
    { index: 1, action: "replace", reason: "env changed", hostBefore: "h2", hostAfter: "h2" },
    { index: 3, action: "start", reason: "replicas 3 -> 4", hostBefore: null, hostAfter: null },
    { index: 12, action: "stop", reason: "replicas 13 -> 4", hostBefore: "h2", hostAfter: null },
  ];
  const out = renderPlan({ ...data.plan, tasks });
  assert.match(out, /\ntasks:\n {2}web\/0 {3}keep {4}-> dev-1 \(rack r1\) {2}\(keeps running: only replicas/);
  assert.match(out, /\n {2}web\/1 {3}replace -> dev-2 \(rack r2\) {2}\(env changed\)\n/);
  assert.match(out, /\n {2}web\/3 {3}start {3}-> no host {2}\(replicas 3 -> 4\)\n/);
  assert.match(out, /\n {2}web\/12 {2}stop {5}\(replicas 13 -> 4\)\n/);
  assert.doesNotMatch(out, /placement:/);
  const never = renderPlan({ ...data.plan, neverFits: "no host could ever fit it: it needs 64Gi memory (the largest of 2 hosts has 8Gi)" });
  assert.match(never, /\nerror: job web can never run: no host could ever fit it: it needs 64Gi memory \(the largest of 2 hosts has 8Gi\)\n/);
  assert.doesNotMatch(never, /unplaced:/, "the misleading per-host counts are left out");
});

void test("renderDrain says what happens and how to revert", () => {
  const h = data.hosts[2];
  assert.ok(h);
  assert.match(renderDrain(h), /host dev-3 is draining: 3 task\(s\) left\n[^]*`tiffin undrain dev-3` reverts/);
  assert.match(renderDrain({ ...h, draining: false }), /takes tasks again/);
});

// A scripted fake (src/api/fake.ts) on purpose: fixed answers, so what --json prints can be compared
// with what the API sent. The same commands against the real server: test/readme.test.ts, src/cli/argv.test.ts.
void test("--json on every listing command prints the API's data; tables otherwise", async (t) => {
  const s = data.status(2, [data.task(0, 2, "healthy")]);
  const api = await startFakeApi({
    "GET /v1/jobs": { body: jobs },
    "GET /v1/jobs/web": { body: s },
    "GET /v1/hosts": { body: data.hosts },
    "GET /v1/jobs/web/versions": { body: data.versions },
    "GET /v1/jobs/web/versions/1": { body: data.versions[0] },
    "GET /v1/jobs/web/versions/2": { body: data.versions[1] },
    // The server diffs (api.test.ts checks the route); the CLI prints its lines.
    "GET /v1/jobs/web/versions/2/diff": { body: { name: "web", from: 1, to: 2, diff: [{ path: "replicas", op: "change", before: 3, after: 5 }, { path: "resources.memory", op: "change", before: "256Mi", after: "512Mi" }] } },
    "DELETE /v1/jobs/web": { body: { name: "web", removed: true } },
    "POST /v1/hosts/dev-3/drain": { body: { ...data.hosts[2], drain: { startedAt: 1, deadline: null, then: "wait", checkedAt: 1, blocked: [], actedAt: null } } },
  });
  t.after(() => api.close());
  const env = { TIFFIN_ADDR: api.url, TIFFIN_TOKEN: "t", TIFFIN_HOME: "/nonexistent" };
  const run = async (argv: string[]) => {
    const io = memoryIo(env);
    const code = await main(argv, io);
    assert.equal(code, 0, `${argv.join(" ")}: ${io.stderr}`);
    return io.stdout;
  };
  assert.deepEqual(JSON.parse(await run(["jobs", "--json"])), jobs);
  assert.deepEqual(JSON.parse(await run(["status", "web", "--json"])), s);
  assert.deepEqual(JSON.parse(await run(["hosts", "--json"])).map((h: { name: string }) => h.name), ["dev-1", "dev-2", "dev-3"]);
  assert.deepEqual(JSON.parse(await run(["history", "web", "--json"])).map((e: { version: number }) => e.version), [2, 1]);
  const d = JSON.parse(await run(["history", "web", "--diff", "1", "2", "--json"])) as { diff: { path: string }[] };
  assert.deepEqual(d.diff.map((l) => l.path), ["replicas", "resources.memory"]);
  assert.equal(JSON.parse(await run(["stop", "web", "--json"])).removed, true);
  assert.equal(JSON.parse(await run(["drain", "dev-3", "--json"])).draining, true);
  assert.match(await run(["jobs"]), /^NAME\s+VERSION/);
  assert.match(await run(["status", "web"]), /^job web {2}version 2/);
  assert.match(await run(["hosts"]), /^NAME\s+ID\s+STATUS/);
  assert.match(await run(["history", "web", "--diff", "1", "2"]), /^job web: version 1 -> 2\n~ replicas = 3 -> 5/);
});

void test("tiffin dev's hints: `npx tiffin` and examples/ in a checkout, `tiffin` and the package's examples when installed", () => {
  const cases: { name: string; dir: string; want: { cli: string; examplesSpec: string } }[] = [
    { name: "checkout", dir: "/home/me/tiffin/src/cli/commands", want: { cli: "npx tiffin", examplesSpec: "examples/tiffin.ts" } },
    { name: "global install", dir: "/usr/local/lib/node_modules/tiffin/dist/cli/commands", want: { cli: "tiffin", examplesSpec: "/x/examples/tiffin.ts" } },
  ];
  for (const c of cases) assert.deepEqual(devHints(c.dir, "/x/examples/tiffin.ts"), c.want, c.name);
  const info = { url: "http://127.0.0.1:7070", dataDir: "/d", contextFile: "/c", serverLog: "/s", agents: [], examples: false };
  assert.match(renderDevReady(info), /^ {2}npx tiffin apply examples\/tiffin\.ts$/m);
  assert.match(renderDevReady({ ...info, cli: "tiffin", examplesSpec: "/x/examples/tiffin.ts" }), /^ {2}tiffin plan \/x\/examples\/tiffin\.ts$/m);
  assert.doesNotMatch(renderDevReady(info), /dashboard/);
  assert.match(renderDevReady({ ...info, dashboard: dashboardUrl(info.url, "t0k/en") }), /^ {2}dashboard http:\/\/127\.0\.0\.1:7070\/ui\/#token=t0k%2Fen {2}\(opens logged in\)$/m);
});

void test("renderPlan: the phases the apply's rollout would run, with hosts and domains", () => {
  const rollout: NonNullable<PlanResult["rollout"]> = [
    { spec: 1, tasks: [{ index: 0, hostName: "dev-1", domain: "dc1/c1/r1" }] },
    { spec: "all", tasks: [{ index: 1, hostName: "dev-2", domain: "dc1/c1/r2" }, { index: 2, hostName: null, domain: null }] },
  ];
  const out = renderPlan({ ...data.plan, rollout });
  assert.ok(out.includes("\nrollout:\n  phase 1 (1): web/0 on dev-1 (dc1/c1/r1)\n  phase 2 (all): web/1 on dev-2 (dc1/c1/r2), web/2\n"), out);
  assert.doesNotMatch(renderPlan({ ...data.plan, rollout: [] }), /rollout:/);
});

void test("renderDrain shows per blocked job what holds it and for how long, and the deadline", () => {
  const base = data.hosts[2];
  assert.ok(base);
  const h = { ...base, drain: { startedAt: 0, deadline: 70_000, then: "force" as const, checkedAt: 1000, blocked: [{ job: "db", reason: "no-room" as const, detail: "no host fits: memory on 2 hosts", tasks: [0], since: 5000 }], actedAt: null } };
  const out = renderDrain(h, 65_000);
  assert.match(out, /db \[task 0\]: no room elsewhere for 1m00s - no host fits: memory on 2 hosts/);
  assert.match(out, /\(in 5s\), then force/);
  assert.match(renderDrain({ ...h, drain: { ...h.drain, blocked: [] } }, 65_000), /nothing blocks/);
});
