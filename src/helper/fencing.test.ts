// Fencing with real helper processes: a helper whose agent is gone stops its task, not before fenceMs
// after the agent's last ping, and done within fenceMs + the stop grace + the server's 1 s margin
// (lostAfter in src/server/reconcile/decide.ts counts on that before it places a replacement).
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { helperPaths } from "./paths.ts";
import { alive, HelperHarness, waitFor } from "./testkit.ts";

/** The server's margin beyond fence and grace. */
const serverMarginMs = 1000;

const h = new HelperHarness();
after(() => h.cleanup());

void describe("fencing", { concurrency: true }, () => {
  void test("no agent ever connects: the task is stopped after fenceMs", async () => {
    const t0 = Date.now();
    const dir = h.attempt({ command: ["sleep", "30"], fenceMs: 600, stop: { signal: "SIGTERM", graceMs: 1000 } });
    const helper = h.start(dir);
    // The fence counts from the helper's socket being up: seen at most a poll (25 ms) late.
    await waitFor("socket", () => fs.existsSync(helperPaths(dir).socket));
    const listening = Date.now();
    const pid = await waitFor("pid", () => helper.status()?.pid ?? null);
    const final = await waitFor("final", () => (helper.status()?.state === "failed" ? helper.status() : null));
    const gone = Number(/^fenced: agent gone for (\d+)ms$/.exec(final?.reason ?? "")?.[1]);
    assert.ok(gone >= 600, `reason ${final?.reason}`);
    assert.ok((final?.endedAt ?? 0) - t0 >= 600);
    const took = (final?.endedAt ?? 0) - listening;
    assert.ok(took <= 600 + 1000 + serverMarginMs, `ended ${took} ms after the helper listened (fence 600, grace 1000)`);
    assert.equal(alive(pid), false);
  });

  void test("pinging keeps the task alive; when pings stop it is fenced", async () => {
    const dir = h.attempt({ command: ["sleep", "30"], fenceMs: 1000 });
    const helper = h.start(dir);
    const agent = await h.agent(dir);
    agent.startPinging(150);
    await sleep(2500);
    assert.equal(helper.status()?.state, "running", "alive after more than three fence periods");
    agent.stopPinging();
    const stoppedAt = Date.now();
    const final = await agent.waitStatus("fenced", (s) => s.state === "failed");
    assert.match(final.reason ?? "", /^fenced: /);
    // The last ping went out at most 150 ms before stoppedAt; it answered a probe sent at most fenceMs/5
    // (200 ms) before it, from which the fence counts (fence.ts): so not before 1000 - 200 - 150.
    const took = (final.endedAt ?? 0) - stoppedAt;
    assert.ok(took >= 1000 - 200 - 150, `fenced ${took}ms after the last ping`);
    assert.ok(took <= 1000 + 1000 + serverMarginMs, `ended ${took} ms after the last ping (fence 1000, grace 1000)`);
  });

  void test("a task that ignores its stop signal is killed within fence + grace of the last ping", async () => {
    const graceMs = 1000;
    const dir = h.attempt({ command: ["sh", "-c", "trap '' TERM; sleep 30 & wait; wait"], fenceMs: 800, stop: { signal: "SIGTERM", graceMs } });
    h.start(dir);
    const agent = await h.agent(dir);
    agent.startPinging(100);
    const running = await agent.waitStatus("running", (s) => s.state === "running");
    await sleep(300);
    agent.stopPinging();
    const stoppedAt = Date.now();
    const final = await agent.waitStatus("fenced", (s) => s.state === "failed", 15_000);
    assert.match(final.reason ?? "", /^fenced: /);
    assert.equal(final.signal, "SIGKILL", "it ignored SIGTERM: the grace's SIGKILL ended it");
    const took = (final.endedAt ?? 0) - stoppedAt;
    // The last ping went out at most one ping interval (100 ms, give or take a timer) before stoppedAt,
    // answering a probe sent at most fenceMs/5 (160 ms) before it.
    assert.ok(took >= 800 - 160 + graceMs - 150, `ended ${took} ms after the last ping: before fence + grace`);
    assert.ok(took <= 800 + graceMs + serverMarginMs, `ended ${took} ms after the last ping (fence 800, grace ${graceMs})`);
    assert.equal(alive(running.pid ?? -1), false);
  });

  void test("a helper paused past its fence does not take pings its agent sent before dying as fresh: it fences soon after waking", async () => {
    // fenceMs 3000: the probes go out every 600 ms and one sent on waking is given answerMs (600) to be answered.
    const fenceMs = 3000;
    const answerMs = fenceMs / 5;
    const dir = h.attempt({ command: ["sleep", "30"], fenceMs, stop: { signal: "SIGTERM", graceMs: 1000 } });
    const helper = h.start(dir);
    const agent = await h.agent(dir);
    agent.startPinging(100);
    await agent.waitStatus("running", (s) => s.state === "running");
    process.kill(helper.proc.pid!, "SIGSTOP");
    // The agent keeps pinging for 2 s (its pings wait in the socket), then dies; the helper sleeps on.
    await sleep(2000);
    agent.close();
    await sleep(2000);
    const woke = Date.now();
    process.kill(helper.proc.pid!, "SIGCONT");
    const fenced = await waitFor("fenced", () => (helper.status()?.state === "failed" ? helper.status() : null), 15_000);
    assert.match(fenced?.reason ?? "", /^fenced: /);
    // Read as fresh, the queued pings would keep the task until woke + fenceMs (3000); the bound is the
    // probe's answerMs plus 1 s for a loaded machine (sleep stops at once on SIGTERM).
    const took = (fenced?.endedAt ?? 0) - woke;
    assert.ok(took <= answerMs + 1000, `fenced ${took} ms after waking (answerMs ${answerMs}, fenceMs ${fenceMs})`);
  });

  void test("a helper paused past its fence keeps its task when its agent pinged all along and answers on waking", async () => {
    const fenceMs = 1000;
    const dir = h.attempt({ command: ["sleep", "30"], fenceMs });
    const helper = h.start(dir);
    const agent = await h.agent(dir);
    agent.startPinging(100);
    const running = await agent.waitStatus("running", (s) => s.state === "running");
    process.kill(helper.proc.pid!, "SIGSTOP");
    await sleep(fenceMs * 2);
    process.kill(helper.proc.pid!, "SIGCONT");
    await sleep(fenceMs * 2);
    assert.equal(helper.status()?.state, "running", JSON.stringify(helper.status()));
    assert.ok(alive(running.pid!));
    agent.close();
  });

  void test("awayUntil delays fencing past fenceMs", async () => {
    const dir = h.attempt({ command: ["sleep", "30"], fenceMs: 400 });
    const helper = h.start(dir);
    const agent = await h.agent(dir);
    const awayUntil = Date.now() + 2000;
    agent.send({ type: "ping", awayUntil });
    await agent.leave(); // the agent goes away for its upgrade
    await sleep(1200);
    assert.equal(helper.status()?.state, "running", "not fenced during the announced absence");
    const final = await waitFor("fenced", () => (helper.status()?.state === "failed" ? helper.status() : null));
    assert.match(final?.reason ?? "", /^fenced: /);
    assert.ok((final?.endedAt ?? 0) >= awayUntil);
  });
});
