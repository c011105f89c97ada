// Shared helper processes (pool.ts): one process runs several attempts, each as it would alone; the
// process ends with its last attempt and refuses new ones from then on; a kill -9 of it ends all of its
// tasks at once and nobody else's; one attempt's flood of output does not starve another's pings.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { parseHelperArgv } from "./main.ts";
import { helperPaths, isHelperProcessOf } from "./paths.ts";
import { admit, parsePoolRequest } from "./pool.ts";
import { maxGapMs, ProcSampler, seenAlive } from "./proc-sampler.ts";
import { readStatusFile } from "./status.ts";
import { alive, HelperHarness, testRuntime, testSandbox, waitFor } from "./testkit.ts";

const h = new HelperHarness();
after(() => h.cleanup());

void describe("pool decisions", () => {
  void test("admit: room and not closing", () => {
    const cases: [string, { running: number; max: number; closing: boolean }, string][] = [
      ["room", { running: 1, max: 8, closing: false }, "ok"],
      ["full", { running: 8, max: 8, closing: false }, "full"],
      ["closing beats room", { running: 0, max: 8, closing: true }, "closing"],
      ["K = 1 after its first", { running: 1, max: 1, closing: false }, "full"],
    ];
    for (const [name, state, want] of cases) {
      const r = admit(state);
      assert.equal(r.ok ? "ok" : r.reason, want, name);
    }
  });

  void test("parsePoolRequest: absolute dirs only", () => {
    assert.deepEqual(parsePoolRequest(`{"type":"run","dir":"/d/a1"}`), { type: "run", dir: "/d/a1" });
    for (const bad of [`{"type":"run","dir":"a1"}`, `{"type":"stop","dir":"/a"}`, `{"type":"run"}`, "null", "nope"]) assert.equal(parsePoolRequest(bad), null, bad);
  });

  void test("parseHelperArgv: one attempt, or a pool", () => {
    assert.deepEqual(parseHelperArgv(["/d/a1"]), { dir: "/d/a1", pool: null });
    assert.deepEqual(parseHelperArgv(["--pool", "/d/p.sock", "--max", "8", "/d/a1"]), { dir: "/d/a1", pool: { socket: "/d/p.sock", max: 8 } });
    for (const bad of [[], ["--pool", "/s", "--max", "0", "/d"], ["--pool", "/s", "/d"], ["/d", "/e"]]) assert.ok("problem" in parseHelperArgv(bad), JSON.stringify(bad));
  });

  void test("isHelperProcessOf: its own helper, or a shared one of the same attempts folder", () => {
    const node = ["/n/node", "--max-semi-space-size=1", "/data/helper/helper-1.mjs"];
    assert.equal(isHelperProcessOf([...node, "/data/attempts/a1"], "/data/attempts/a1"), true);
    assert.equal(isHelperProcessOf([...node, "/data/attempts/a1"], "/data/attempts/a2"), false);
    assert.equal(isHelperProcessOf([...node, "--pool", "/data/helper/pool-x.sock", "--max", "8", "/data/attempts/a1"], "/data/attempts/a2"), true);
    assert.equal(isHelperProcessOf([...node, "--pool", "/other/helper/pool-x.sock", "--max", "8", "/other/attempts/a1"], "/data/attempts/a2"), false);
    assert.equal(isHelperProcessOf([...node, "--pool", "/data/helper/pool-x.sock", "--max", "8", "/data/attempts/a1", ""], "/data/attempts/a2"), true, "as split from /proc/PID/cmdline");
    assert.equal(isHelperProcessOf(["/usr/bin/sleep", "100"], "/data/attempts/a2"), false);
  });
});

void test("one process runs several attempts, each with its own socket and status; full and closing are refused; it exits after the last ack", { timeout: 60_000 }, async () => {
  const [a, b, c] = [0, 1, 2].map(() => h.attempt({ command: ["sleep", "30"] })) as [string, string, string];
  const pool = h.startPool(a, 2);
  assert.deepEqual(await pool.hand(b), { ok: true });
  assert.deepEqual(await pool.hand(c), { ok: false, reason: "full" });
  assert.deepEqual(await pool.hand(b), { ok: true }, "a repeated request for a directory it runs: yes, and not started twice");
  const [agentA, agentB] = [await h.agent(a), await h.agent(b)];
  const [ra, rb] = [await agentA.waitStatus("a running", (s) => s.state === "running"), await agentB.waitStatus("b running", (s) => s.state === "running")];
  assert.equal(ra.helperPid, pool.proc.pid);
  assert.equal(rb.helperPid, pool.proc.pid);
  assert.notEqual(ra.pid, rb.pid);
  await sleep(300);
  assert.equal(agentB.statuses.filter((s) => s.state === "running").length, 1, "b started once");
  for (const d of [a, b]) assert.equal(Number(fs.readFileSync(helperPaths(d).pid, "utf8")), pool.proc.pid);

  // Stopping one attempt leaves the other running; once acked, its slot is free again.
  agentA.send({ type: "stop", reason: "test" });
  await agentA.waitStatus("a stopped", (s) => s.state === "failed");
  await waitFor("a's task gone", () => !alive(ra.pid!));
  assert.ok(alive(rb.pid!), "b still runs");
  // An ended attempt waiting for its ack holds no slot (the agent releases it at the ack, and the
  // process finishes it a moment later).
  assert.deepEqual(await pool.hand(c), { ok: true });
  agentA.send({ type: "ack" });
  await waitFor("a done", () => !fs.existsSync(helperPaths(a).pid));
  const agentC = await h.agent(c);
  await agentC.waitStatus("c running", (s) => s.state === "running" && s.helperPid === pool.proc.pid);

  for (const ag of [agentB, agentC]) ag.send({ type: "stop", reason: "test" });
  await agentB.waitStatus("b stopped", (s) => s.state === "failed");
  await agentC.waitStatus("c stopped", (s) => s.state === "failed");
  agentB.send({ type: "ack" });
  await sleep(300);
  assert.equal(pool.proc.exitCode, null, "still running an attempt that waits for its ack");
  agentC.send({ type: "ack" });
  assert.equal(await pool.exited, 0);
  assert.equal(fs.existsSync(pool.socket), false, "control socket removed");
});

/** Handles the stop signal and exits; its output goes elsewhere (with its helper gone, writes fail). */
const graceful = `exec >/dev/null 2>&1; trap 'exit 0' TERM; while :; do sleep 0.05; done`;

void test("kill -9 of a shared helper process ends all of its tasks at once (plain and sandboxed); another process's tasks run on", { timeout: 120_000 }, async (t) => {
  const runtime = await testRuntime();
  const mark = `pool-k9-${process.pid}-`;
  const pools = [0, 1].map((p) => {
    const dirs = (["none", "sandbox"] as const).map((iso) => {
      const id = `${mark}${p}-${iso}`;
      return h.attempt({
        command: ["sh", "-c", graceful],
        env: { PATH: "/usr/bin:/bin", JOB_NAME: id, ATTEMPT_ID: id },
        stop: { signal: "SIGTERM", graceMs: 1500 },
        fenceMs: 3_600_000,
        ...(iso === "sandbox" ? { sandbox: testSandbox(runtime) } : {}),
      });
    });
    return { ids: (["none", "sandbox"] as const).map((iso) => `${mark}${p}-${iso}`), dirs, proc: h.startPool(dirs[0]!, 4) };
  });
  for (const p of pools) assert.deepEqual(await p.proc.hand(p.dirs[1]!), { ok: true });
  for (const p of pools) for (const d of p.dirs) await (await h.agent(d)).waitStatus("running", (s) => s.state === "running", 30_000);
  const sampler = new ProcSampler(`JOB_NAME=${mark}`, 50);
  await sampler.warm();
  await sleep(500);
  const [victim, bystander] = pools as [(typeof pools)[0], (typeof pools)[0]];
  victim.proc.proc.kill("SIGKILL");
  const killedAt = Date.now();
  await victim.proc.exited;
  await sleep(3000);
  const samples = await sampler.stop();
  assert.ok(maxGapMs(samples) <= 1000, `/proc sampled with a gap of ${maxGapMs(samples)} ms`);
  for (const id of victim.ids) {
    const seen = seenAlive(samples, id);
    assert.ok(seen !== null && seen.first < killedAt, `${id}: never seen alive before the kill`);
    t.diagnostic(`${id}: last seen alive ${seen.last - killedAt} ms after its shared helper was killed`);
    assert.ok(seen.last - killedAt <= 1000, `${id}: still alive ${seen.last - killedAt} ms after its helper died`);
  }
  for (const id of bystander.ids) {
    const seen = seenAlive(samples, id);
    assert.ok(seen !== null && seen.last >= samples.at(-1)!.at, `${id} (other process) was ended too`);
  }
  assert.ok(alive(bystander.proc.proc.pid!), "the other shared helper process runs on");
});

/** Time from connecting to an attempt's socket to its first status: how long the process's event loop
 * makes that attempt's agent wait (a ping is read the same way). */
async function probe(dir: string): Promise<number> {
  const t0 = performance.now();
  const s = net.connect(helperPaths(dir).socket);
  await new Promise<void>((resolve, reject) => {
    s.once("data", () => resolve());
    s.once("error", reject);
  });
  s.destroy();
  return performance.now() - t0;
}

void test("one attempt writing logs flat out and health-checked every 100 ms does not starve its neighbour's pings (default fence, 3 s)", { timeout: 60_000 }, async (t) => {
  const fenceMs = 3000;
  // Random text: zstd has real work to do, unlike with `yes`. A command check spawns a process each time.
  const loud = h.attempt({
    command: ["base64", "-w", "200", "/dev/urandom"],
    fenceMs,
    logSegmentBytes: 8 << 20,
    logSegmentsKept: 2,
    health: { kind: "command", run: ["true"], intervalMs: 100, timeoutMs: 2000, failures: 3, graceMs: 0, action: "restart" },
  });
  const quiet = h.attempt({ command: ["sleep", "60"], fenceMs });
  const pool = h.startPool(loud, 2);
  assert.deepEqual(await pool.hand(quiet), { ok: true });
  const agents = [await h.agent(loud), await h.agent(quiet)];
  for (const ag of agents) ag.startPinging(fenceMs / 4); // as the agent does
  await agents[0]!.waitStatus("healthy", (s) => s.state === "healthy");
  await agents[1]!.waitStatus("running", (s) => s.state === "running");
  const lat: number[] = [];
  const until = Date.now() + 12_000;
  while (Date.now() < until) {
    lat.push(await probe(quiet));
    await sleep(100);
  }
  lat.sort((x, y) => x - y);
  // The helper keeps writing (and retiring old segments) while this adds up sizes: a file listed may be gone.
  const logged = fs.readdirSync(path.join(loud, "logs")).reduce((n, f) => n + (fs.statSync(path.join(loud, "logs", f), { throwIfNoEntry: false })?.size ?? 0), 0);
  t.diagnostic(`quiet attempt's socket answered in median ${lat[Math.floor(lat.length / 2)]!.toFixed(1)} ms, p99 ${lat[Math.floor(lat.length * 0.99)]!.toFixed(1)} ms, max ${lat.at(-1)!.toFixed(1)} ms (${lat.length} probes) while its neighbour logged; ${(logged / 1e6).toFixed(1)} MB compressed on disk`);
  for (const [i, d] of [loud, quiet].entries()) {
    const st = agents[i]!.statuses.at(-1)!;
    assert.equal(st.state, i === 0 ? "healthy" : "running", `${path.basename(d)}: ${st.state} ${st.reason ?? ""}`);
    assert.ok(!agents[i]!.statuses.some((s) => /fenced/.test(s.reason ?? "")), "nothing fenced");
  }
  assert.ok(lat.at(-1)! < fenceMs / 4, `the quiet attempt waited up to ${lat.at(-1)!.toFixed(0)} ms, a quarter of the fence`);
  assert.ok(logged > 0, "the loud task's output was logged");
});

void test("an uncaught error in a shared process kills every one of its tasks, marks each attempt 'helper crashed', and exits 1", { timeout: 60_000 }, async () => {
  const dirs = [0, 1].map(() => h.attempt({ command: ["sleep", "60"] }));
  const host = new URL("./host.ts", import.meta.url).href;
  // As pool.ts runs attempts, then a bug throws on the event loop.
  const code = `
    const { AttemptHost } = await import(${JSON.stringify(host)});
    const host = new AttemptHost();
    host.installProcessHandlers();
    for (const d of JSON.parse(process.env.DIRS)) void host.run(d);
    setTimeout(() => { throw new Error("boom"); }, 1500);`;
  const proc = spawn(process.execPath, ["--input-type=module", "-e", code], { env: { ...process.env, DIRS: JSON.stringify(dirs) }, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr.on("data", (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (c) => resolve(c)));
  const pids = await Promise.all(dirs.map((d) => waitFor("running", () => readStatusFile(helperPaths(d).status)?.pid ?? null)));
  assert.equal(await exited, 1, err);
  assert.match(err, /crashed: Error: boom/);
  for (const [i, d] of dirs.entries()) {
    const st = readStatusFile(helperPaths(d).status);
    assert.equal(st?.state, "failed");
    assert.match(st?.reason ?? "", /^helper crashed: Error: boom/);
    assert.equal(st?.endCause, "helper");
    await waitFor(`task ${pids[i]} gone`, () => !alive(pids[i]!), 2000);
  }
});
