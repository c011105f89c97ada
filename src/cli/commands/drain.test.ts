// `tiffin drain` as a user runs it (the real CLI process) against a real server with agents that
// register, heartbeat and report through the API: moves hold each job's disruption budget (its
// parallelism), a job that finds no room elsewhere is reported blocked within a second with the
// reason, and the drain's deadline acts ("force" stops what finds no room). `tiffin hosts HOST` shows
// the report; the option parsing and the rendering are tables.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { ApiClient } from "../../api/client.ts";
import { createAgentClient } from "../../api/agent-client.ts";
import type { AttemptUpdate, JobStatus, RegisterResponse } from "../../api/types.ts";
import type { JobSpec } from "../../model/index.ts";
import { compileJobs } from "../../spec/api.ts";
import { cliWithServer } from "../real-cli.ts";
import { drainOptions } from "./drain.ts";
import { renderHosts } from "./hosts.ts";

void test("drainOptions: --deadline and --then", async (t) => {
  const cases: { name: string; opts: { deadline?: string; then?: string }; want: ReturnType<typeof drainOptions> | RegExp }[] = [
    { name: "nothing", opts: {}, want: {} },
    { name: "a deadline", opts: { deadline: "10m" }, want: { deadlineMs: 600_000 } },
    { name: "no deadline", opts: { deadline: "none" }, want: { deadlineMs: null } },
    { name: "a deadline and stop", opts: { deadline: "90s", then: "stop" }, want: { deadlineMs: 90_000, then: "stop" } },
    { name: "a bad duration", opts: { deadline: "soon" }, want: /--deadline wants a duration/ },
    { name: "a bad action", opts: { then: "panic" }, want: /--then takes wait, force, stop/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      if (c.want instanceof RegExp) assert.throws(() => drainOptions(c.opts), c.want);
      else assert.deepEqual(drainOptions(c.opts), c.want);
    });
  }
});

/** An agent as the server sees one: it registers, heartbeats and reports through the agent API. */
class SimAgent {
  reg: RegisterResponse | null = null;
  readonly url: string;
  readonly name: string;
  constructor(url: string, name: string) {
    this.url = url;
    this.name = name;
  }
  get hostId(): string {
    return this.reg?.hostId ?? "";
  }
  async register(joinToken: string, memoryMiB: number): Promise<void> {
    const inventory = { name: this.name, address: "127.0.0.1:1", cores: 4, memoryMiB, diskMiB: 10_000, os: { id: "debian", version: "12" }, kernel: "6.1.0", labels: {}, runtime: "crun (simulated)", unsandboxed: true };
    const r = await createAgentClient(this.url).register(joinToken, { inventory, ...(this.reg ? { hostToken: this.reg.hostToken } : {}) });
    assert.ok(r.ok, `register ${this.name}`);
    this.reg = r.value;
  }
  async heartbeat(): Promise<void> {
    if (this.reg) await createAgentClient(this.url).heartbeat(this.reg.hostToken, { hostId: this.hostId });
  }
  async report(u: Partial<AttemptUpdate> & { id: string; state: AttemptUpdate["state"] }): Promise<void> {
    const full: AttemptUpdate = { pid: null, exitCode: null, signal: null, reason: null, ports: {}, startedAt: null, endedAt: null, ...u };
    const r = await createAgentClient(this.url).reportAttempts(this.reg?.hostToken ?? "", { hostId: this.hostId, updates: [full] });
    assert.ok(r.ok, `report ${this.name}`);
  }
}

function spec(input: Record<string, unknown>): JobSpec {
  const s = compileJobs({ command: ["/bin/sleep", "1000"], isolation: "none", spread: "none", ...input }, null).specs[0];
  assert.ok(s);
  return s;
}

/** Polls `fn` until it returns something truthy (10 s at most by default). */
async function eventually<T>(what: string, fn: () => Promise<T | null | false | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null && v !== false && v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

void test("tiffin drain: moves within the budget, says within a second what blocks, acts at its deadline", async (t) => {
  const { server, run } = await cliWithServer(t, "drain");
  const api = new ApiClient({ addr: server.url, token: server.adminToken });
  const alpha = new SimAgent(server.url, "alpha");
  await alpha.register(server.joinToken, 4096);
  const beta = new SimAgent(server.url, "beta");
  const beat = setInterval(() => void Promise.all([alpha.heartbeat(), beta.heartbeat()]).catch(() => undefined), 300);
  t.after(() => clearInterval(beat));
  // Both on alpha (the only host): "wide" (4 small tasks, budget 2) and "big" (too big for beta).
  await api.apply(spec({ name: "wide", replicas: 4, resources: { cpu: 0.1, memory: 64, disk: 10 }, rollout: { maxUnavailable: 2 } }));
  await api.apply(spec({ name: "big", replicas: 1, resources: { cpu: 0.5, memory: 3000, disk: 10 } }));
  // "pinned": one task with a disruption budget of 0 (nothing may be disrupted): waits for the deadline.
  await api.apply(spec({ name: "pinned", replicas: 1, resources: { cpu: 0.1, memory: 64, disk: 10 }, rollout: { maxUnavailable: 0, maxSurge: 1 } }));
  await beta.register(server.joinToken, 2000);
  const agents = new Map([[alpha.hostId, alpha], [beta.hostId, beta]]);
  /** Reports every attempt meant to run as running, every one told to stop as exited. */
  const settle = async (job: string): Promise<JobStatus> => {
    const s = await api.job(job);
    for (const x of s.tasks) {
      for (const a of x.attempts) {
        if (a.desired === "run" && a.state === "pending") await agents.get(a.hostId)?.report({ id: a.id, state: "running", pid: 1000 + x.index, startedAt: Date.now() });
        if (a.desired === "stop" && !["exited", "failed", "lost"].includes(a.state)) await agents.get(a.hostId)?.report({ id: a.id, state: "exited", signal: "SIGTERM", endedAt: Date.now() });
      }
    }
    return api.job(job);
  };
  for (const job of ["wide", "big", "pinned"]) {
    await eventually(`${job} running on alpha`, async () => {
      const s = await settle(job);
      return s.tasks.length > 0 && s.tasks.every((x) => x.hostId === alpha.hostId && x.state === "running");
    });
  }

  const r = await run("drain", "alpha", "--deadline", "3s", "--then", "force");
  assert.equal(r.code, 0, r.err);
  const h = await api.host("alpha");
  assert.ok(h.drain && h.drain.checkedAt !== null, "the leader looked");
  assert.ok(h.drain.checkedAt - h.drain.startedAt < 1000, `reported within a second (took ${h.drain.checkedAt - h.drain.startedAt} ms)`);
  assert.deepEqual(h.drain.blocked.filter((b) => b.job === "big").map((b) => [b.reason, b.tasks]), [["no-room", [0]]]);
  // wide is not held by room: at most its last tasks wait for the budget its first moves use.
  for (const b of h.drain.blocked.filter((x) => x.job === "wide")) assert.deepEqual([b.reason, b.tasks, b.detail], ["budget", [2, 3], "2 of 4 task(s) down or moving, disruption budget 2"]);
  assert.match(h.drain.blocked[0]?.detail ?? "", /no host fits: .*memory on 1 host/);
  assert.deepEqual(h.drain.blocked.filter((b) => b.job === "pinned").map((b) => [b.reason, b.tasks]), [["budget", [0]]], "a budget of 0 says so within a second");
  assert.match(r.out, /pinned \[task 0\]: disruption budget for \d+s - disruption budget 0 /, "the CLI prints it");
  assert.match(r.out, /big \[task 0\]: no room elsewhere for \d+s - no host fits/, "the CLI prints the block");
  assert.match(r.out, /then force/);

  // Parallelism: the budget of 2 lets two of wide's tasks move at once, no more, until they serve.
  const moving = await eventually("two wide moves", async () => {
    const s = await api.job("wide");
    const n = s.tasks.filter((x) => x.hostId === beta.hostId).length;
    return n >= 2 ? s : null;
  });
  await new Promise((res) => setTimeout(res, 300));
  const still = await api.job("wide");
  assert.equal(still.tasks.filter((x) => x.hostId === beta.hostId).length, 2, "no third move while two are under way");
  assert.equal(moving.tasks.filter((x) => x.attempts.some((a) => a.hostId === alpha.hostId && a.desired === "run")).length, 4, "make-before-break: every old copy still runs");
  await eventually("wide all on beta", async () => {
    const s = await settle("wide");
    return s.tasks.every((x) => x.hostId === beta.hostId && x.state === "running") && s.tasks.every((x) => x.attempts.every((a) => a.hostId === beta.hostId || a.state === "exited"));
  });
  await eventually("only big and pinned held once wide left", async () => (await api.host("alpha")).drain?.blocked.map((b) => b.job).join() === "big,pinned");
  assert.equal((await api.job("pinned")).tasks[0]?.hostId, alpha.hostId, "budget 0: not moved before the deadline");

  // The deadline: "force" stops the task that finds no room; it waits unplaced, with its reason.
  const stopped = await eventually("big stopped at the deadline", async () => {
    const s = await api.job("big");
    return s.tasks[0]?.attempts.some((a) => a.desired === "stop") ? s : null;
  }, 8000);
  // The host's drain report says so at its next write (its own loop; the stop may be seen first).
  const acted = await eventually("the report's actedAt", async () => {
    const d = (await api.host("alpha")).drain;
    return d?.actedAt !== null && d?.actedAt !== undefined ? d : null;
  }, 5000);
  assert.ok(acted?.actedAt !== null && acted?.actedAt !== undefined && acted.deadline !== null && acted.actedAt >= acted.deadline, "acted at (not before) the deadline");
  assert.ok(stopped.tasks[0]);
  const unplaced = await eventually("big unplaced", async () => {
    const s = await settle("big");
    return s.tasks[0]?.hostId === null && s.tasks[0].reason !== null ? s : null;
  });
  assert.match(unplaced.tasks[0]?.reason ?? "", /no host fits/);
  // At the deadline "force" moves the budget-0 task regardless (make-before-break: it finds room).
  await eventually("pinned moved at the deadline", async () => {
    const s = await settle("pinned");
    return s.tasks[0]?.hostId === beta.hostId && s.tasks[0].state === "running";
  });
  const shown = await run("hosts", "alpha");
  assert.equal(shown.code, 0, shown.err);
  assert.match(shown.out, /host alpha .*draining/);
  assert.match(shown.out, /then force \(acted /);
});

void test("tiffin hosts decommission: drains, takes the host out of placement for good, keeps its record", async (t) => {
  const { server, run } = await cliWithServer(t, "decommission");
  const api = new ApiClient({ addr: server.url, token: server.adminToken });
  const alpha = new SimAgent(server.url, "alpha");
  const beta = new SimAgent(server.url, "beta");
  await alpha.register(server.joinToken, 4096);
  await beta.register(server.joinToken, 4096);
  const beat = setInterval(() => void Promise.all([alpha.heartbeat(), beta.heartbeat()]).catch(() => undefined), 300);
  t.after(() => clearInterval(beat));
  const r = await run("hosts", "decommission", "alpha");
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /host alpha .* is decommissioned: it takes no tasks again/);
  const h = await api.host("alpha");
  assert.equal(h.draining, true);
  assert.ok(h.decommissionedAt !== undefined);
  const undrain = await run("undrain", "alpha");
  assert.equal(undrain.code, 1);
  assert.match(undrain.err, /TIFFIN_CONFLICT.*alpha was decommissioned/);
  // Its agent registering again (a restart) keeps it out; nothing is placed there.
  await alpha.register(server.joinToken, 4096);
  assert.ok((await api.host("alpha")).decommissionedAt !== undefined, "a re-registration keeps the decommission");
  await api.apply(spec({ name: "web", replicas: 3, resources: { cpu: 0.1, memory: 64, disk: 10 } }));
  const placed = await eventually("web placed", async () => {
    const s = await api.job("web");
    return s.tasks.length === 3 && s.tasks.every((x) => x.hostId !== null) ? s : null;
  });
  assert.ok(placed.tasks.every((x) => x.hostId === beta.hostId), "nothing placed on a decommissioned host");
  assert.match(renderHosts(await api.hosts()), /alpha.*decommissioned/, "the record stays, marked");
});

void test("disruption approval: a job's endpoint saying not yet keeps its task and the drain shows why; yes lets it move", async (t) => {
  const { server } = await cliWithServer(t, "approve");
  let answer: { approve: boolean; reason?: string } = { approve: false, reason: "rebuilding index, 40% done" };
  const asked: unknown[] = [];
  const app = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      asked.push(JSON.parse(body));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => app.listen(0, "127.0.0.1", r));
  t.after(() => app.close());
  const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}/may-i`;
  const api = new ApiClient({ addr: server.url, token: server.adminToken });
  const alpha = new SimAgent(server.url, "alpha");
  const beta = new SimAgent(server.url, "beta");
  await alpha.register(server.joinToken, 4096);
  const beat = setInterval(() => void Promise.all([alpha.heartbeat(), beta.heartbeat()]).catch(() => undefined), 300);
  t.after(() => clearInterval(beat));
  await api.apply(spec({ name: "db", resources: { cpu: 0.1, memory: 64, disk: 10 }, disruption: { approve: url, timeout: "1s" } }));
  const agents = (): Map<string, SimAgent> => new Map([[alpha.hostId, alpha], [beta.hostId, beta]]);
  const settle = async (): Promise<JobStatus> => {
    const s = await api.job("db");
    for (const x of s.tasks) {
      for (const a of x.attempts) {
        if (a.desired === "run" && a.state === "pending") await agents().get(a.hostId)?.report({ id: a.id, state: "running", pid: 1000, startedAt: Date.now() });
        if (a.desired === "stop" && !["exited", "failed", "lost"].includes(a.state)) await agents().get(a.hostId)?.report({ id: a.id, state: "exited", signal: "SIGTERM", endedAt: Date.now() });
      }
    }
    return api.job("db");
  };
  const first = await eventually("db running on alpha", async () => {
    const s = await settle();
    return s.tasks[0]?.state === "running" ? s.tasks[0] : null;
  });
  await beta.register(server.joinToken, 4096);

  const started = Date.now();
  await api.drain("alpha");
  const held = await eventually("the drain shows the application's reason", async () => {
    const b = (await api.host("alpha")).drain?.blocked.find((x) => x.job === "db");
    return b?.reason === "approval" && b.detail.includes("rebuilding index") ? b : null;
  });
  assert.ok(Date.now() - started < 2000, `shown within 2 s (took ${Date.now() - started} ms)`);
  assert.deepEqual(held.tasks, [0]);
  // The application's last answer, its reason, and since when it has said so (a stable time: no rewrite each second).
  assert.match(held.detail, /^task 0: the application says not yet: "rebuilding index, 40% done" \(its answer since \d\d:\d\d:\d\d UTC, asked every 1s\)$/);
  assert.deepEqual(asked[0], { job: "db", index: 0, host: "alpha", cause: "drain" }, "the application is told what and why");
  await new Promise((r) => setTimeout(r, 300));
  const still = (await api.job("db")).tasks[0];
  assert.deepEqual([still?.hostId, still?.attemptId], [first.hostId, first.attemptId], "not yet: the task stays");

  answer = { approve: true };
  const moved = await eventually("db moved to beta once approved", async () => {
    const s = await settle();
    return s.tasks[0]?.hostId === beta.hostId && s.tasks[0].state === "running" ? s : null;
  });
  assert.notEqual(moved.tasks[0]?.attemptId, first.attemptId);

  // A rollout's phase asks too (approval-gate.ts): a new version waits while the application says not
  // yet, the task keeps serving its old version; yes, and it is replaced.
  answer = { approve: false, reason: "compaction running" };
  asked.length = 0;
  await api.apply(spec({ name: "db", env: { V: "2" }, resources: { cpu: 0.1, memory: 64, disk: 10 }, disruption: { approve: url, timeout: "1s" } }));
  await eventually("the rollout asked the application", async () => asked.some((x) => (x as { cause?: string }).cause === "rollout"));
  assert.deepEqual(asked.find((x) => (x as { cause?: string }).cause === "rollout"), { job: "db", index: 0, host: "beta", cause: "rollout" });
  await new Promise((r) => setTimeout(r, 300));
  const waiting = (await settle()).tasks[0];
  assert.deepEqual([waiting?.attemptId, waiting?.state], [moved.tasks[0]?.attemptId, "running"], "not yet: the old version keeps serving");
  answer = { approve: true };
  await eventually("replaced once approved", async () => {
    const s = await settle();
    return s.tasks[0]?.attemptId !== moved.tasks[0]?.attemptId && s.tasks[0]?.state === "running" && s.tasks[0].version === s.version ? s : null;
  });
});
