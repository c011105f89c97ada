// End-to-end lifecycle promises on a real server, real agents, helpers and tasks (issue 10): scaling
// starts or stops only the tasks added or removed; a crash-looping spec backs off and is parked.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Cluster, compile, waitFor, alive, webServerSource, takingTurns } from "./harness.ts";

function webInput(replicas: number) {
  return {
    name: "web",
    command: ["node", "server.mjs"],
    files: { "server.mjs": webServerSource },
    replicas,
    ports: { http: {} },
    resources: { cpu: 0.1, memory: "64Mi", disk: "64Mi" },
    stop: { signal: "SIGTERM", grace: "1s" },
  };
}

function web(replicas: number) {
  return compile(webInput(replicas));
}

/** Runs the real CLI against the cluster (a temporary HOME, so no context file is read or written). */
async function cli(c: Cluster, args: string[]): Promise<{ code: number; out: string }> {
  const bin = join(import.meta.dirname, "..", "bin", "tiffin.js");
  return await new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, HOME: c.dir, TIFFIN_HOME: c.dir, TIFFIN_ADDR: c.url, TIFFIN_TOKEN: c.adminToken } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

// The four tests run at once, each on its own cluster: they mostly wait (back-offs, a parked task's
// quiet, a dead host's timeouts), and their time bounds hold on a busier host: the back-offs are
// checked from below, and apply giving up "at once" means within 20 s of a 60 s --wait. Their set-ups (a server, agents, the first tasks: the
// CPU-heavy part) take turns, so a cluster starts no slower than alone. The timeouts count the wait for
// a turn. (One after the other, the file took 47 s of CI's serial e2e time.)
const inTurn = takingTurns();

void describe("lifecycle", { concurrency: true }, () => {
  void test("scaling 3 -> 4 -> 3 keeps the kept replicas' processes and ports", { timeout: 180_000 }, async (t) => {
    const { c, three } = await inTurn(async () => {
      const c = await Cluster.start({ agents: 2 });
      t.after(() => c.stop());
      await c.apply(web(3));
      return { c, three: await c.waitRunning("web", 30_000) };
    });
    const seen = (s: typeof three) => s.tasks.map((x) => ({ index: x.index, attemptId: x.attemptId, pid: x.pid, port: x.ports["http"] }));
    const before = seen(three);

    // Through the real CLI: apply follows the rollout to its end (kept tasks count as the new version).
    const file = join(c.dir, "web.json");
    writeFileSync(file, JSON.stringify(webInput(4)));
    const applied = await cli(c, ["apply", file, "--wait", "30s"]);
    assert.equal(applied.code, 0, applied.out);
    const four = await waitFor("4 running", 30_000, async () => {
      const s = await c.status("web");
      return s.tasks.length === 4 && s.tasks.every((x) => x.state === "running" && x.pid !== null && x.version === s.version) ? s : undefined;
    });
    assert.deepEqual(seen(four).slice(0, 3), before, "tasks 0-2 kept their attempts, pids and ports");

    await c.apply(web(3));
    const back = await waitFor("back to 3", 30_000, async () => {
      const s = await c.status("web");
      return s.tasks.length === 3 && s.tasks.every((x) => x.version === s.version) ? s : undefined;
    });
    assert.deepEqual(seen(back), before, "the same three attempts still run");
    for (const x of before) assert.ok(x.pid !== null && alive(x.pid), `pid ${x.pid} of web/${x.index} is alive`);
    const gone = four.tasks[3]?.pid ?? 0;
    await waitFor("web/3 stopped", 10_000, () => !alive(gone));
  });

  void test("a crash-looping spec backs off across hosts, is parked with its reasons, and restarts on `tiffin restart` or an apply", { timeout: 240_000 }, async (t) => {
    const c = await inTurn(async () => {
      const c = await Cluster.start({ agents: 2 });
      t.after(() => c.stop());
      return c;
    });
    const crash = compile({
      name: "crash",
      command: ["/bin/sh", "-c", "echo boom >&2; exit 3"],
      resources: { cpu: 0.1, memory: "32Mi", disk: "16Mi" },
      restart: { backoff: { initial: "500ms", max: "2s" }, moveAfterFailures: 3 },
    });
    await c.apply(crash);
    const attemptsOf = async () => (await c.status("crash")).tasks[0]?.attempts ?? [];
    // 2 hosts x 3 failures: parked after the 6th. Back-offs 0.5, 1, 2 (moved), 2, 2 s: about 7.5 s.
    const parked = await waitFor("parked", 60_000, async () => {
      const s = await c.status("crash");
      return s.tasks[0]?.state === "parked" ? s : undefined;
    });
    const t0 = parked.tasks[0];
    assert.ok(t0);
    const tried = [...t0.attempts].sort((a, b) => a.createdAt - b.createdAt);
    assert.equal(tried.length, 6, `6 attempts, then parked (got ${tried.map((a) => `${a.hostId}:${a.state}`).join(" ")})`);
    assert.equal(new Set(tried.map((a) => a.hostId)).size, 2, "it was moved to the other host");
    for (let i = 1; i < tried.length; i++) {
      const waited = (tried[i]?.startedAt ?? 0) - (tried[i - 1]?.endedAt ?? 0);
      const backoff = Math.min(500 * 2 ** (i - 1), 2000);
      assert.ok(waited >= backoff - 50, `attempt ${i + 1} started ${waited} ms after the previous ended; its back-off is ${backoff} ms (moves too)`);
    }
    assert.match(t0.reason ?? "", /^failed 6 times in a row on 2 hosts \(exit code 3\)/);
    assert.equal(t0.hostId, null, "a parked task holds no host's resources");
    const table = await cli(c, ["status", "crash"]);
    assert.match(table.out, /crash\/0 .* parked .* exit 3 +failed 6 times in a row/, "the previous attempt's end and the parked reason");
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await attemptsOf()).length, 6, "no attempt while parked");

    const restarted = await cli(c, ["restart", "crash"]);
    assert.equal(restarted.code, 0, restarted.out);
    assert.match(restarted.out, /crash\/0: was parked, placed again/);
    await waitFor("a new attempt after restart", 10_000, async () => (await c.status("crash")).tasks[0]?.attempts.some((a) => !tried.some((x) => x.id === a.id)));
    await waitFor("parked again", 60_000, async () => (await c.status("crash")).tasks[0]?.state === "parked");
    // The same spec applied again releases it too.
    const again = await c.apply(crash);
    assert.equal(again.changed, false);
    await waitFor("unparked by the apply", 10_000, async () => (await c.status("crash")).tasks[0]?.state !== "parked");
  });

  void test("a job no host could ever fit: `tiffin plan` says so and exits 1; `tiffin apply` stops waiting at once", { timeout: 150_000 }, async (t) => {
    const c = await inTurn(async () => {
      const c = await Cluster.start({ agents: 1 });
      t.after(() => c.stop());
      return c;
    });
    const file = join(c.dir, "huge.json");
    writeFileSync(file, JSON.stringify({ name: "huge", command: ["/bin/true"], resources: { memory: "4096Gi" } }));
    const plan = await cli(c, ["plan", file]);
    assert.equal(plan.code, 1, plan.out);
    assert.match(plan.out, /error: job huge can never run: no host could ever fit it: it needs 4096Gi memory \(the only host has \d+(Mi|Gi)\)/);
    const started = Date.now();
    const apply = await cli(c, ["apply", file, "--wait", "60s"]);
    assert.equal(apply.code, 1, apply.out);
    assert.match(apply.out, /error\[TIFFIN_NEVER_FITS\]: no registered host could ever run huge\/0/);
    assert.ok(Date.now() - started < 20_000, `apply gave up after ${Date.now() - started} ms, not the whole --wait`);
  });

  void test("spread is restored after recovery: tasks that moved off a dead host's rack come back, one at a time", { timeout: 240_000 }, async (t) => {
    const c = await inTurn(async () => {
      const c = await Cluster.start({ agents: 3 });
      t.after(() => c.stop());
      await c.apply(web(6));
      await c.waitRunning("web", 30_000);
      return c;
    });
    const racks = async () => {
      const rackOf = new Map((await c.hosts()).map((h) => [h.id, h.domain.rack]));
      const s = await c.status("web");
      const per: Record<string, number> = {};
      for (const x of s.tasks) if (x.hostId && ["running", "healthy"].includes(x.state)) per[rackOf.get(x.hostId) ?? "?"] = (per[rackOf.get(x.hostId) ?? "?"] ?? 0) + 1;
      return per;
    };
    assert.deepEqual(await racks(), { r1: 2, r2: 2, r3: 2 });
    c.killAgent(0);
    await waitFor("6 running on r2 and r3", 30_000, async () => {
      const p = await racks();
      return (p["r2"] ?? 0) + (p["r3"] ?? 0) === 6 ? p : undefined;
    });
    c.startAgent(0);
    const back = await waitFor("2 per rack again", 60_000, async () => {
      const p = await racks();
      return p["r1"] === 2 && p["r2"] === 2 && p["r3"] === 2 ? p : undefined;
    });
    assert.deepEqual(back, { r1: 2, r2: 2, r3: 2 });
    const s = await c.status("web");
    assert.equal(s.tasks.filter((x) => x.state === "running").length, 6, "every replica runs");
  });
});
