// Service discovery end to end (issue 15): a real server, real agents and real task processes. The
// registry follows the tasks: a failed health check removes the endpoint before any restart, a drain
// removes endpoints before the tasks stop, and a watcher resumes across a server restart without
// missing or repeating a change. The CLI's `tiffin services` and `tiffin endpoints` read the same.
import { test } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { ApiClient } from "../src/api/client.ts";
import { readLogs } from "../src/helper/logs.ts";
import type { WatchEvent, WatchKind } from "../src/api/watch-types.ts";
import type { Endpoint } from "../src/model/index.ts";
import { Cluster, Timing, waitFor, webJob } from "./harness.ts";

const run = promisify(execFile);
const bin = join(import.meta.dirname, "..", "bin", "tiffin.js");

/** A web task whose health check fails for good once it is asked for /fail. */
const flakySource = `
import { createServer } from "node:http";
import { writeSync } from "node:fs";
let failing = false;
createServer((req, res) => {
  if (req.url === "/fail") { failing = true; res.end("failing"); return; }
  if (req.url === "/healthz") { res.statusCode = failing ? 500 : 200; res.end(failing ? "no" : "ok"); return; }
  res.end("hello from " + process.env.TASK_ID);
}).listen(Number(process.env.PORT_HTTP), "0.0.0.0");
process.on("SIGTERM", () => { writeSync(1, "SIGTERM at " + Date.now() + "\\n"); process.exit(0); });
`;

/** The stop delay of these tests' web job: a planned stop's signal comes this long after the endpoint's removal. */
const StopDelayMs = 1000;
const web = (replicas: number) => {
  const spec = webJob(replicas, flakySource);
  return { ...spec, stop: { ...spec.stop, delayMs: StopDelayMs } };
};

/** Collects a watch's events until stopped (at the latest when the test ends, so none outlives it). */
function collect(t: TestContext, client: ApiClient, kinds: WatchKind[], from: number): { events: WatchEvent[]; at: Map<WatchEvent, number>; stop(): void } {
  const events: WatchEvent[] = [];
  const at = new Map<WatchEvent, number>();
  const abort = new AbortController();
  t.after(() => abort.abort());
  void (async () => {
    try {
      for await (const m of client.watch({ kinds, jobs: ["web"], from, signal: abort.signal, maxRetryMs: 300 })) {
        if (m.type !== "bookmark" && m.type !== "reset") {
          events.push(m);
          at.set(m, Date.now());
        }
      }
    } catch {
      /* aborted */
    }
  })();
  return { events, at, stop: () => abort.abort() };
}

async function currentRevision(client: ApiClient): Promise<number> {
  const abort = new AbortController();
  for await (const m of client.watch({ kinds: ["endpoint"], signal: abort.signal })) {
    if (m.type === "bookmark") {
      abort.abort();
      return m.revision;
    }
  }
  return 0;
}

const endpointOf = (eps: Endpoint[], index: number): Endpoint | undefined => eps.find((e) => e.index === index);

void test("endpoints: listed when healthy and reachable; a failed health check removes one before any restart; a drain before the stop", { timeout: 120_000 }, async (t) => {
  const c = await Cluster.start({ agents: 2 });
  t.after(() => c.stop());
  const client = new ApiClient({ addr: c.url, token: c.adminToken });
  /** When an attempt's task got its SIGTERM, from the task's own log (it writes it synchronously). */
  // Read from the attempt's directory on its host: a scaled-down task is gone from the API once it ended.
  const sigtermOf = async (index: number, attemptId: string): Promise<number> => {
    let text = "";
    for (const a of c.agents) {
      const dir = join(a.dataDir, "attempts", attemptId);
      if (!existsSync(dir)) continue;
      for await (const b of readLogs(dir, "stdout")) text += b.toString();
    }
    const at = Number(/SIGTERM at (\d+)/.exec(text)?.[1]);
    if (!Number.isFinite(at)) throw new Error(`no SIGTERM in the log of web/${index} (${attemptId})`);
    return at;
  };
  await c.apply(web(2));
  const first = await waitFor("2 endpoints", 30_000, async () => {
    const eps = await client.endpoints("web");
    return eps.length === 2 ? eps : undefined;
  });
  for (const e of first) {
    const port = e.ports[0]?.port;
    assert.equal(e.ports[0]?.name, "http");
    assert.equal(e.state, "healthy");
    assert.equal(await (await fetch(`http://${e.address}:${port}/`)).text(), `hello from web/${e.index}`);
  }
  assert.deepEqual(await client.services(), [{ name: "web", endpoints: 2, ports: ["http"], uses: [] }]);

  // The CLI, as users run it.
  const env = { ...process.env, TIFFIN_ADDR: c.url, TIFFIN_TOKEN: c.adminToken, HOME: c.dir };
  const cliServices = await run(process.execPath, [bin, "services"], { env });
  assert.match(cliServices.stdout, /web\s+2\s+http/);
  const cliEndpoints = JSON.parse((await run(process.execPath, [bin, "endpoints", "web", "--json"], { env })).stdout) as Endpoint[];
  assert.deepEqual(cliEndpoints.map((e) => e.attemptId).sort(), first.map((e) => e.attemptId).sort());
  const unknown = await run(process.execPath, [bin, "endpoints", "nope"], { env }).catch((err: { code: number; stderr: string }) => err);
  assert.ok("code" in unknown && unknown.code !== 0, "unknown service fails");
  assert.match(unknown.stderr, /TIFFIN_NOT_FOUND|not found/);

  // 1. A failed health check: the endpoint goes before the attempt ends or a new one is made.
  const from = (await currentRevision(client)) + 1;
  const w = collect(t, client, ["endpoint", "attempt"], from);
  const victim = endpointOf(first, 0)!;
  await fetch(`http://${victim.address}:${victim.ports[0]!.port}/fail`);
  const replaced = await waitFor("web/0 listed again with a new attempt", 30_000, async () => {
    const e = endpointOf(await client.endpoints("web"), 0);
    return e && e.attemptId !== victim.attemptId ? e : undefined;
  });
  await waitFor("events", 5000, () => w.events.some((e) => e.kind === "endpoint" && e.type === "added" && e.object?.attemptId === replaced.attemptId));
  const removed = w.events.find((e) => e.kind === "endpoint" && e.name === "web/0" && e.type === "removed");
  assert.ok(removed, "the endpoint was removed");
  // The attempt's end (the agent kills a task whose check failed) or the server's stop of it, and the
  // replacement: the endpoint is gone no later than the first, and before the second.
  const endedAt = w.events.find((e) =>
    e.kind === "attempt" && e.object !== null && e.object.id === victim.attemptId && (e.object.desired === "stop" || ["failed", "exited", "stopped", "lost"].includes(e.object.state)));
  const newAttempt = w.events.find((e) => e.kind === "attempt" && e.object !== null && e.object.index === 0 && e.object.id !== victim.attemptId);
  assert.ok(endedAt && newAttempt, "the attempt ended and was replaced");
  const trace = w.events.map((e) => `${e.revision} ${e.kind} ${e.type} ${e.name} ${e.kind === "attempt" ? `${e.object?.state} ${e.object?.desired}` : ""}`).join("; ");
  t.diagnostic(`endpoint removed at revision ${removed.revision}, attempt ended at ${endedAt.revision}, replacement at ${newAttempt.revision}`);
  assert.ok(removed.revision <= endedAt.revision, `endpoint removed (rev ${removed.revision}) no later than the attempt ended (rev ${endedAt.revision}): ${trace}`);
  assert.ok(removed.revision < newAttempt.revision, `endpoint removed (rev ${removed.revision}) before the replacement (rev ${newAttempt.revision}): ${trace}`);
  w.stop();

  // 2. A drain: every endpoint on the drained host is removed before its task is stopped.
  const now = await client.endpoints("web");
  const drained = now[0]!.hostId;
  const w2 = collect(t, client, ["endpoint", "attempt"], (await currentRevision(client)) + 1);
  const onHost = now.filter((e) => e.hostId === drained);
  const r = await c.api("POST", `/v1/hosts/${drained}/drain`);
  assert.equal(r.status, 200);
  await waitFor("endpoints moved off the drained host", 40_000, async () => {
    const eps = await client.endpoints("web");
    return eps.length === 2 && eps.every((e) => e.hostId !== drained);
  });
  await waitFor("the stops reported", 10_000, () => onHost.every((e) => w2.events.some((x) => x.kind === "attempt" && x.object?.id === e.attemptId && x.object.state === "stopped")));
  for (const e of onHost) {
    const gone = w2.events.find((x) => x.kind === "endpoint" && x.type === "removed" && x.object?.attemptId === e.attemptId);
    const stopped = w2.events.find((x) => x.kind === "attempt" && x.object?.id === e.attemptId && x.object.state === "stopped");
    const trace = w2.events.filter((x) => x.object !== null && (x.kind === "attempt" ? x.object.id : x.kind === "endpoint" ? x.object.attemptId : "") === e.attemptId)
      .map((x) => `${x.revision} ${x.kind} ${x.type} ${x.kind === "attempt" ? `${x.object?.state}/${x.object?.desired}` : ""}`).join("; ");
    t.diagnostic(`drain of ${e.job}/${e.index}: ${trace}`);
    assert.ok(gone && stopped && gone.revision < stopped.revision, `${e.job}/${e.index}: endpoint removed before its task stopped: ${trace}`);
    // The task's own log: its SIGTERM came after a watcher saw the endpoint go (a drain moves make-
    // before-break: the endpoint leaves when the task points at its new attempt, the stop comes later).
    const sigterm = await sigtermOf(e.index, e.attemptId);
    const seen = w2.at.get(gone) ?? Infinity;
    t.diagnostic(`drain: ${e.job}/${e.index}'s endpoint removal seen by a watcher ${sigterm - seen} ms before the task's SIGTERM`);
    assert.ok(sigterm > seen, `${e.job}/${e.index}: SIGTERM at ${sigterm}, ${sigterm - seen} ms after a watcher saw the endpoint go`);
  }
  w2.stop();

  // 3. A scale down: the stop and the endpoint's removal are one write; the signal waits the stop delay.
  const w3 = collect(t, client, ["endpoint"], (await currentRevision(client)) + 1);
  const last = endpointOf(await client.endpoints("web"), 1)!;
  assert.equal((await c.api("POST", "/v1/jobs/web/scale", { replicas: 1 })).status, 200);
  const sigterm = await waitFor("web/1's SIGTERM in its log", 15_000, () => sigtermOf(1, last.attemptId).catch(() => undefined));
  const gone = w3.events.find((x) => x.kind === "endpoint" && x.type === "removed" && x.object?.attemptId === last.attemptId);
  assert.ok(gone);
  const seen = w3.at.get(gone) ?? Infinity;
  t.diagnostic(`scale down: web/1's endpoint removal seen by a watcher ${sigterm - seen} ms before the task's SIGTERM (stop delay ${StopDelayMs} ms)`);
  assert.ok(sigterm - seen >= StopDelayMs - 200, `web/1: SIGTERM ${sigterm - seen} ms after a watcher saw the endpoint go (stop delay ${StopDelayMs} ms)`);
  w3.stop();
});

void test("endpoints: a watcher resumes across a server restart without missing or repeating a change", { timeout: 120_000 }, async (t) => {
  const c = await Cluster.start({ agents: 1 });
  t.after(() => c.stop());
  const client = new ApiClient({ addr: c.url, token: c.adminToken });
  await c.apply(web(2));
  await waitFor("2 endpoints", 30_000, async () => (await client.endpoints("web")).length === 2);
  const w = collect(t, client, ["endpoint"], 1);
  await waitFor("the watcher saw both", 5000, () => w.events.filter((e) => e.type === "added").length >= 2);
  // The CLI's watch too, as users run it: its list, then the changes, across the restart.
  const cliWatch = spawn(process.execPath, [bin, "endpoints", "web", "--watch", "--json"], { env: { ...process.env, TIFFIN_ADDR: c.url, TIFFIN_TOKEN: c.adminToken, HOME: c.dir } });
  t.after(() => cliWatch.kill("SIGKILL"));
  let cliOut = "";
  cliWatch.stdout.on("data", (d: Buffer) => (cliOut += d.toString()));
  await waitFor("the CLI's list", 15_000, () => cliOut.includes('"type":"list"'));

  c.killServer();
  await c.startServer();
  // A change after the restart: the task process of web/1 dies (kill -9); its endpoint goes and comes back.
  const before = endpointOf(await client.endpoints("web"), 1)!;
  const status = await c.status("web");
  const pid = status.tasks.find((x) => x.index === 1)?.pid;
  assert.ok(pid);
  process.kill(pid, "SIGKILL");
  await waitFor("web/1 back with a new attempt", 30_000, async () => {
    const e = endpointOf(await client.endpoints("web"), 1);
    return e !== undefined && e.attemptId !== before.attemptId;
  });
  await waitFor("the watcher saw web/1 back", 10_000, () => w.events.some((e) => e.kind === "endpoint" && e.type !== "removed" && e.name === "web/1" && e.object?.attemptId !== before.attemptId));
  await new Promise((r) => setTimeout(r, 500));
  w.stop();

  // The truth: a fresh watch from the start, read after everything happened.
  const fresh = collect(t, client, ["endpoint"], 1);
  await waitFor("the fresh watch read the history", 10_000, () => fresh.events.length >= w.events.length && fresh.events.length > 0);
  await new Promise((r) => setTimeout(r, 300));
  fresh.stop();
  const key = (e: WatchEvent): string => `${e.revision} ${e.type} ${e.name}`;
  const seen = w.events.map(key);
  assert.equal(new Set(seen).size, seen.length, "no change repeated");
  assert.deepEqual(seen, fresh.events.filter((e) => e.revision <= (w.events.at(-1)?.revision ?? 0)).map(key), "no change missed, same order");
  assert.ok(w.events.some((e) => e.kind === "endpoint" && e.type === "removed" && e.object?.attemptId === before.attemptId), "the removal after the restart was seen");
  const cliLines = await waitFor("the CLI printed the removal and the return", 15_000, () => {
    const lines = cliOut.trim().split("\n").map((l) => JSON.parse(l) as { type: string; name?: string; object?: { attemptId: string } | null; endpoints?: Endpoint[] });
    const gone = lines.findIndex((l) => l.type === "removed" && l.name === "web/1");
    return gone > 0 && lines.slice(gone).some((l) => l.type !== "removed" && l.name === "web/1" && l.object?.attemptId !== before.attemptId) ? lines : undefined;
  });
  assert.equal(cliLines[0]?.endpoints?.length, 2, "the CLI's list had both endpoints");
  assert.equal(cliLines.filter((l) => l.type === "list").length, 1, "listed once: the restart was resumed, not relisted");
  cliWatch.kill("SIGINT");

  // A host that stops heartbeating (its agent frozen, its tasks still running) turns suspect: its
  // endpoints go within a tick of that; they come back once it answers again.
  await waitFor("2 endpoints", 30_000, async () => (await client.endpoints("web")).length === 2);
  const agentPid = c.agents[0]?.proc?.pid;
  assert.ok(agentPid);
  process.kill(agentPid, "SIGSTOP");
  const frozenAt = Date.now();
  try {
    await waitFor("endpoints gone while the host is suspect", Timing.suspectMs + 5000, async () => (await client.endpoints("web")).length === 0, 50);
  } finally {
    process.kill(agentPid, "SIGCONT");
  }
  const goneMs = Date.now() - frozenAt;
  t.diagnostic(`agent frozen to endpoints gone: ${goneMs} ms (suspect after ${Timing.suspectMs} ms without a heartbeat)`);
  // Under the down timeout (when its lease ends and the attempts are lost anyway): suspect is what acted.
  assert.ok(goneMs < Timing.suspectMs + 1500, `gone ${goneMs} ms after the agent froze`);
  await waitFor("endpoints back once the host answers", 30_000, async () => (await client.endpoints("web")).length === 2);
});
