// Fencing with real helper processes: a helper whose agent is gone stops its task.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { alive, HelperHarness, waitFor } from "./testkit.ts";

const h = new HelperHarness();
after(() => h.cleanup());

void describe("fencing", { concurrency: true }, () => {
  void test("no agent ever connects: the task is stopped after fenceMs", async () => {
    const t0 = Date.now();
    const dir = h.attempt({ command: ["sleep", "30"], fenceMs: 600 });
    const helper = h.start(dir);
    const pid = await waitFor("pid", () => helper.status()?.pid ?? null);
    const final = await waitFor("final", () => (helper.status()?.state === "failed" ? helper.status() : null));
    const gone = Number(/^fenced: agent gone for (\d+)ms$/.exec(final?.reason ?? "")?.[1]);
    assert.ok(gone >= 600, `reason ${final?.reason}`);
    assert.ok((final?.endedAt ?? 0) - t0 >= 600);
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
    // The last ping went out at most 150 ms before stoppedAt.
    assert.ok((final.endedAt ?? 0) - stoppedAt >= 800, `fenced ${(final.endedAt ?? 0) - stoppedAt}ms after the last ping`);
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
