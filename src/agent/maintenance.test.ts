// A maintenance window on one rack, with the REAL server (its own process), two real agents and real
// task processes: the "move" job's tasks leave the rack before the window starts, never more than its
// budget at once; the "endure" job's task keeps running until the start, is stopped gracefully then,
// stays placed on its host through the window, and is started again there at the end; nothing new is
// placed on the rack during the window; `tiffin maintenance` data comes back through list and cancel.
// A second window, on host beta, right after: the endure job "keeper2" asks its application (a real
// HTTP endpoint) before its stop at the start: "not yet" keeps it running and the window's report says
// why; "yes" stops it. Then beta goes away (its agent closed) and does not come back by the window's
// end: the window overruns (`tiffin maintenance list` shows OVERRUN) and, past keeper2's
// `maintenanceOverrun` (2 s), keeper2 is placed elsewhere (alpha).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import type { JobStatus } from "../api/types.ts";
import type { MaintenanceWindow } from "../model/index.ts";
import { serverAndAgent } from "./real-server.ts";
import { startAgent } from "./main.ts";
import { alive, killAttempts, testLogger, testSpec, waitFor } from "./test-fixtures.ts";

const tiffinBin = path.join(import.meta.dirname, "..", "..", "bin", "tiffin.js");

void test("a window on a rack: move tasks leave first within their budget, the endure task stops at the start and restarts in place at the end, nothing new lands there", async (t) => {
  const { root, agentDir, server, agent: alpha, api } = await serverAndAgent(t, { prefix: "tiffin-maint-", name: "alpha", labels: { rack: "r1" } });
  const json = async <T>(p: string, init?: RequestInit): Promise<T> => {
    const r = await api(p, init);
    assert.ok(r.ok, `${p}: ${r.status} ${await r.clone().text()}`);
    return (await r.json()) as T;
  };
  const job = (name: string): Promise<JobStatus> => json<JobStatus>(`/v1/jobs/${name}`);
  const apply = (spec: ReturnType<typeof testSpec>): Promise<unknown> => json("/v1/jobs", { method: "POST", body: JSON.stringify({ spec }) });
  const running = (s: JobStatus): boolean => s.tasks.length === s.spec.replicas && s.tasks.every((x) => x.state === "running" && x.pid !== null);

  // Both jobs on alpha (the only host yet).
  await apply(testSpec({ name: "mover", replicas: 2, rollout: { phases: null, bakeMs: 0, deadlineMs: 60_000, maxUnavailable: 1, maxSurge: 0, onFailure: "rollback" } }));
  // The endure task keeps state in its work dir: each start appends a line of its own to ./state.
  const keeperCommand = ["node", "-e", "require('fs').appendFileSync('state', Date.now() + '-' + Math.random() + '\\n'); setInterval(() => {}, 1000)"];
  await apply(testSpec({ name: "keeper", maintenance: "endure", command: keeperCommand }));
  // A move job with a disruption budget of 0: it may not leave before the start; the window's report says why.
  await apply(testSpec({ name: "stuck", rollout: { phases: null, bakeMs: 0, deadlineMs: 60_000, maxUnavailable: 0, maxSurge: 1, onFailure: "rollback" } }));
  for (const name of ["mover", "keeper", "stuck"]) await waitFor(`${name} running`, async () => running(await job(name)), 30_000);
  const keeper0 = (await job("keeper")).tasks[0];
  assert.ok(keeper0?.pid);
  const stateOf = (attemptId: string): string[] => {
    try {
      return fs.readFileSync(path.join(agentDir, "attempts", attemptId, "work", "state"), "utf8").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };
  const first = await waitFor("the endure task wrote its line", () => (stateOf(keeper0.attemptId!).length === 1 ? stateOf(keeper0.attemptId!) : null));

  const betaDir = path.join(root, "beta");
  const beta = await startAgent({ server: server.url, joinToken: server.joinToken, dataDir: betaDir, name: "beta", labels: { rack: "r2" }, log: testLogger() });
  t.after(async () => {
    await beta.close("leave-tasks").catch(() => {});
    killAttempts(betaDir);
  });

  const start = Date.now() + 3000;
  const w = await json<MaintenanceWindow>("/v1/maintenance", { method: "POST", body: JSON.stringify({ scope: "rack", target: "r1", start, durationMs: 3000, reason: "PDU swap", leadMs: 2500, closeMs: 2500 }) });
  assert.equal(w.scope, "rack");
  assert.deepEqual((await json<MaintenanceWindow[]>("/v1/maintenance")).map((x) => x.id), [w.id]);

  // keeper2's application: "not yet" until the test says yes; every request is kept.
  const asked: { job: string; index: number; host: string; cause: string; window?: { id: string; scope: string; target: string; reason: string } }[] = [];
  let approve = false;
  const app = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      asked.push(JSON.parse(body) as (typeof asked)[number]);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(approve ? { approve: true } : { approve: false, reason: "index rebuilding" }));
    });
  });
  await new Promise<void>((r) => app.listen(0, "127.0.0.1", r));
  t.after(() => app.close());
  const approveUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/approve`;

  // Until the start: mover leaves alpha, at most one task not serving at a time (budget 1).
  let worst = 0;
  await waitFor("mover all on beta before the start", async () => {
    const s = await job("mover");
    worst = Math.max(worst, s.tasks.filter((x) => x.state !== "running").length);
    return s.tasks.every((x) => x.hostId === beta.hostId && x.state === "running") ? s : null;
  }, 10_000);
  assert.ok(Date.now() < start, "moved before the window started");
  // keeper2 (endure, asks its application, waits 2 s for its host after a window's end: beta is down
  // before that, so the move is a clock decision, not one a host change triggers) lands on beta,
  // the only open host; a window on beta starts just after the rack's ends.
  await apply(testSpec({ name: "keeper2", maintenance: "endure", maintenanceOverrunMs: 2000, disruption: { approve: approveUrl, timeoutMs: 1000, onTimeout: "wait" } }));
  const start2 = start + 3500;
  const w2 = await json<MaintenanceWindow>("/v1/maintenance", { method: "POST", body: JSON.stringify({ scope: "host", target: "beta", start: start2, durationMs: 3000, reason: "disk swap", leadMs: 0, closeMs: 0 }) });
  // The window's report (same as a drain's): stuck is held by its budget of 0; keeper (endure) is not listed.
  // The leader rewrites the report on its next pass: one read just after mover's last move may still
  // list mover as held by its budget.
  const report = await waitFor("the window's report without mover", async () => {
    const r = (await json<MaintenanceWindow[]>("/v1/maintenance"))[0]?.report?.find((x) => x.host === "alpha");
    return r && r.blocked.every((b) => b.job !== "mover") ? r : null;
  }, 5_000);
  assert.deepEqual(report.blocked.map((b) => [b.job, b.reason, b.tasks]), [["stuck", "budget", [0]]]);
  assert.match(report.blocked[0]?.detail ?? "", /disruption budget 0/);
  assert.ok(worst <= 1, `never more than the budget down (saw ${worst})`);
  const k = (await job("keeper")).tasks[0];
  assert.equal(k?.attemptId, keeper0.attemptId, "the endure task runs on until the start");
  assert.ok(alive(keeper0.pid!));

  // During the window: keeper stopped, still placed on alpha; a new job goes to beta only.
  await waitFor("keeper stopped at the start", () => !alive(keeper0.pid!), 10_000);
  assert.ok(Date.now() >= start - 200, "not stopped long before the start");
  const during = (await job("keeper")).tasks[0];
  assert.equal(during?.hostId, alpha.hostId, "kept in place");
  await apply(testSpec({ name: "newbie", replicas: 2 }));
  const newbie = await waitFor("newbie placed", async () => {
    const s = await job("newbie");
    return s.tasks.length === 2 && s.tasks.every((x) => x.hostId !== null) ? s : null;
  });
  assert.ok(newbie.tasks.every((x) => x.hostId === beta.hostId), "nothing new on the rack in maintenance");
  assert.equal((await job("keeper")).tasks[0]?.hostId, alpha.hostId, "still in place later in the window");

  // After the end: started again on alpha.
  const back = await waitFor("keeper running again after the end", async () => {
    const s = await job("keeper");
    const x = s.tasks[0];
    return x && x.attemptId !== keeper0.attemptId && x.state === "running" ? x : null;
  }, 15_000);
  assert.equal(back.hostId, alpha.hostId, "restarted on the same host");
  // Same working directory: the new attempt's work/ holds what the first one wrote, and then its own line.
  const state = await waitFor("the restarted task wrote its line", () => (stateOf(back.attemptId!).length >= 2 ? stateOf(back.attemptId!) : null), 10_000);
  assert.equal(state.length, 2, `one line per start: ${state.join(", ")}`);
  assert.equal(state[0], first[0], "the work dir survived the window");
  assert.ok(Date.now() >= start + 3000, "not before the window's end");
  const cancelled = await json<MaintenanceWindow>(`/v1/maintenance/${w.id}/cancel`, { method: "POST", body: "{}" });
  assert.notEqual(cancelled.cancelledAt, null);

  // Window 2 on beta: keeper2's stop at its start waits for its application's yes.
  const k2 = await waitFor("keeper2 running on beta", async () => {
    const x = (await job("keeper2")).tasks[0];
    return x?.state === "running" && x.hostId === beta.hostId && x.pid !== null ? x : null;
  });
  const held = await waitFor("window 2's report: keeper2 held by its application", async () => {
    const r = (await json<MaintenanceWindow[]>("/v1/maintenance")).find((x) => x.id === w2.id)?.report?.find((x) => x.host === "beta");
    return r?.blocked.find((b) => b.job === "keeper2" && b.reason === "approval" && /index rebuilding/.test(b.detail));
  }, 10_000);
  assert.ok(Date.now() >= start2, "held in the window, not before it");
  assert.deepEqual(held.tasks, [0]);
  assert.ok(alive(k2.pid!), "not yet: keeper2 runs on in the started window");
  assert.equal((await job("keeper2")).tasks[0]?.attemptId, k2.attemptId);
  const ask = asked.find((a) => a.job === "keeper2");
  assert.deepEqual([ask?.index, ask?.host, ask?.cause, ask?.window?.id, ask?.window?.scope, ask?.window?.target, ask?.window?.reason], [0, "beta", "maintenance", w2.id, "host", "beta", "disk swap"]);
  approve = true;
  await waitFor("keeper2 stopped once approved", async () => !alive(k2.pid!) && (await job("keeper2")).tasks[0]?.state !== "running", 10_000);

  // beta goes away for the work and is not back by the window's end: the window overruns, and past
  // keeper2's 2 s limit it is placed elsewhere.
  await beta.close("leave-tasks");
  const overrun = await waitFor("window 2 overruns", async () => (await json<MaintenanceWindow[]>("/v1/maintenance")).find((x) => x.id === w2.id)?.overrun, 15_000);
  assert.deepEqual(overrun.hosts, ["beta"]);
  // `tiffin maintenance list` (the real CLI process) runs while keeper2 waits out its limit.
  const env = { PATH: process.env["PATH"] ?? "", HOME: root, TIFFIN_ADDR: server.url, TIFFIN_TOKEN: server.adminToken };
  const listing = promisify(execFile)(process.execPath, [tiffinBin, "maintenance", "list"], { env, encoding: "utf8" });
  const moved = await waitFor("keeper2 running on alpha after the overrun", async () => {
    const x = (await job("keeper2")).tasks[0];
    return x?.state === "running" && x.hostId === alpha.hostId ? x : null;
  }, 20_000);
  assert.ok(Date.now() >= start2 + 3000 + 2000, "not before the window's end plus keeper2's maintenanceOverrun");
  assert.notEqual(moved.attemptId, k2.attemptId);
  const { stdout: list } = await listing;
  assert.match(list, new RegExp(`${w2.id}.*host.*beta.*OVERRUN for \\d+s: beta not back`), list);
});
