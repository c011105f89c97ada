// Real helper processes (node main.ts DIR) with real tasks, driven through the socket as an agent would.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { listSegments, segmentPath } from "./log-segments.ts";
import { readLogs } from "./logs.ts";
import { helperPaths } from "./paths.ts";
import { alive, collect, HelperHarness, waitFor } from "./testkit.ts";

const h = new HelperHarness();
after(() => h.cleanup());

void describe("helper process", { concurrency: true }, () => {
  void test("task output lands in compressed segments, reads back across rotation, and follow sees later lines", async () => {
    const dir = h.attempt({
      // "later" is written only once the test creates work/go, after the follower has caught up.
      command: ["sh", "-c", "seq 1 30000; echo err-line >&2; while [ ! -e go ]; do sleep 0.05; done; echo later"],
      logSegmentBytes: 32 * 1024,
      logSegmentsKept: 100,
    });
    const helper = h.start(dir);
    const agent = await h.agent(dir);
    agent.startPinging(200);
    const expected = execFileSync("seq", ["1", "30000"], { encoding: "utf8" });
    // The active segment is flushed within ~250 ms, so the tail shows up while the task still runs.
    await waitFor("last seq line", async () => (await collect(readLogs(dir, "stdout", { tail: 1 }))) === "30000\n");
    assert.equal(helper.status()?.state, "running");
    const chunks: string[] = [];
    const following = (async () => {
      for await (const b of readLogs(dir, "stdout", { follow: true })) chunks.push(b.toString());
    })();
    await waitFor("follower caught up", () => chunks.join("") === expected);
    fs.writeFileSync(path.join(helperPaths(dir).work, "go"), "");
    await following; // ends by itself: the status became final and everything was read
    assert.equal(chunks.join(""), `${expected}later\n`);
    assert.equal(await collect(readLogs(dir, "stderr")), "err-line\n");
    const segs = await listSegments(helperPaths(dir).logs, "stdout");
    assert.ok(segs.length >= 5, `rotated into ${segs.length} segments`);
    assert.equal(fs.readFileSync(segmentPath(helperPaths(dir).logs, "stdout", segs[0] ?? 0)).readUInt32LE(0), 0xfd2fb528);
    const final = await agent.waitStatus("exited", (s) => s.state === "exited");
    assert.equal(final.exitCode, 0);
    agent.send({ type: "ack" });
    assert.equal(await helper.exited, 0);
    assert.equal(helper.status()?.state, "exited", "status.json stays for re-adoption");
    assert.equal(fs.existsSync(helperPaths(dir).socket), false);
  });

  void test("a task killed with SIGKILL ends as exited with signal SIGKILL", async () => {
    const dir = h.attempt({ command: ["sleep", "30"] });
    const helper = h.start(dir);
    const agent = await h.agent(dir);
    agent.startPinging(200);
    const running = await agent.waitStatus("running", (s) => s.state === "running");
    assert.ok(running.pid && alive(running.pid));
    process.kill(running.pid, "SIGKILL");
    const final = await agent.waitStatus("exited", (s) => s.state === "exited");
    assert.deepEqual([final.signal, final.exitCode, final.reason], ["SIGKILL", null, null]);
    agent.send({ type: "ack" });
    assert.equal(await helper.exited, 0);
  });

  void test("stop sends the stop signal, then SIGKILL after the grace period to a task that ignores it", async () => {
    const graceMs = 700;
    const dir = h.attempt({
      command: ["sh", "-c", `trap "echo got-term" TERM; echo ready; while :; do sleep 0.05; done`],
      stop: { signal: "SIGTERM", graceMs },
    });
    h.start(dir);
    const agent = await h.agent(dir);
    agent.startPinging(200);
    await waitFor("ready", async () => (await collect(readLogs(dir, "stdout"))).includes("ready"));
    const pid = (await agent.waitStatus("running", (s) => s.state === "running")).pid ?? 0;
    const t0 = Date.now();
    agent.send({ type: "stop", reason: "rollout", deliberate: true });
    const final = await agent.waitStatus("stopped", (s) => s.state === "stopped" || s.state === "failed");
    assert.equal(final.state, "stopped", "the server's stop is recorded as stopped, not failed");
    assert.ok(Date.now() - t0 >= graceMs - 50, `killed after ${Date.now() - t0}ms`);
    assert.deepEqual([final.reason, final.signal], ["stopped: rollout", "SIGKILL"]);
    assert.match(await collect(readLogs(dir, "stdout")), /got-term/, "the stop signal came first");
    assert.equal(alive(pid), false);
  });

  void test("a second connection gets the current status (re-adoption); ack lets the helper exit", async () => {
    const dir = h.attempt({ command: ["sleep", "30"] });
    const helper = h.start(dir);
    const first = await h.agent(dir);
    first.startPinging(200);
    const running = await first.waitStatus("running", (s) => s.state === "running");
    first.close();
    const second = await h.agent(dir);
    second.startPinging(200);
    const onConnect = await second.waitStatus("status on connect", () => true);
    assert.deepEqual(onConnect, running, "sent on connect without any change");
    second.send({ type: "ack" }); // ignored: the task has not ended
    second.send({ type: "stop", reason: "agent says" });
    // Not the server's wish (no `deliberate`: the disconnect policy, an agent shutting down): a failure.
    await second.waitStatus("failed", (s) => s.state === "failed" && s.reason === "stopped: agent says");
    assert.equal(helper.proc.exitCode, null, "waits for the ack");
    second.send({ type: "ack" });
    assert.equal(await helper.exited, 0);
  });

  void test("runHelper returns and its process ends by itself after the ack (no handle left open)", async () => {
    const dir = h.attempt({ command: ["sh", "-c", "echo hi"] });
    const helper = h.start(dir, { viaRunHelper: true });
    const agent = await h.agent(dir);
    await agent.waitStatus("exited", (s) => s.state === "exited");
    agent.send({ type: "ack" });
    const code = await Promise.race([helper.exited, sleep(5000).then(() => "still running")]);
    assert.equal(code, 0, "exited without waiting for the linger timer");
  });

  void test("SIGTERM to the helper stops the task, then the helper exits", async () => {
    const dir = h.attempt({ command: ["sleep", "30"] });
    const helper = h.start(dir);
    const pid = await waitFor("running", () => (helper.status()?.state === "running" ? helper.status()?.pid : null));
    helper.proc.kill("SIGTERM");
    assert.equal(await helper.exited, 0);
    const final = helper.status();
    assert.deepEqual([final?.state, final?.reason], ["failed", "helper stopped"]);
    // The task died of the SIGTERM; or, when the signal came before the init (`timeout`) had started the
    // command (the helper says "running" once the init is spawned: a race seen under CI load), the
    // init took it itself and exited 128+15.
    assert.ok(final?.signal === "SIGTERM" || (final?.signal === null && final.exitCode === 143), JSON.stringify(final));
    assert.equal(alive(pid ?? 0), false);
  });

  void test("a task the kernel can never start fails for good, with the reason (issue 10 item 8)", async () => {
    const cases: [Parameters<typeof h.attempt>[0], RegExp][] = [
      [{ command: ["sh", "-c", "sleep 5", "a\0b"] }, /^start failed: .*command\[3\].*NUL/],
      [{ command: ["sh", "-c", "sleep 5"], env: { PATH: "/usr/bin:/bin", A: "x\0y" } }, /^start failed: .*env\.A.*NUL/],
      [{ command: ["sh", "-c", "sleep 5", "x".repeat(200_000)] }, /^start failed: .*command\[3\].*131071 bytes/],
      [{ command: ["sh", "-c", "sleep 5"], files: { a: { content: "", mode: 0o644 }, "a/b": { content: "", mode: 0o644 } } }, /^start failed: .*"a" is a file/],
      [{ command: ["sh", "-c", "sleep 5"], files: { ["n".repeat(300)]: { content: "", mode: 0o644 } } }, /^start failed: .*255 bytes/],
    ];
    await Promise.all(
      cases.map(async ([over, reason]) => {
        const dir = h.attempt(over);
        const helper = h.start(dir);
        const agent = await h.agent(dir);
        const final = await agent.waitStatus("failed", (s) => s.state === "failed");
        assert.match(final.reason ?? "", reason);
        assert.equal(final.incurable, true, final.reason ?? "");
        assert.equal(final.pid, null);
        agent.send({ type: "ack" });
        assert.equal(await helper.exited, 0);
      }),
    );
  });

  void test("a command that cannot start fails with the reason", async () => {
    const dir = h.attempt({ command: ["/no/such/program"] });
    const helper = h.start(dir);
    const agent = await h.agent(dir);
    const final = await agent.waitStatus("failed", (s) => s.state === "failed");
    assert.match(final.reason ?? "", /^start failed: ENOENT /);
    assert.equal(final.incurable, undefined, "a missing program may be there on another host or later");
    assert.equal(final.pid, null);
    agent.send({ type: "ack" });
    assert.equal(await helper.exited, 0);
  });
});
