// A plain task (isolation "none") whose processes ignore the stop signal or leave its process group
// (setsid) must still end whole: on a stop, when the task's main process exits, and when its helper is
// killed -9. Real helpers, real processes, /proc read for survivors (by a marker in their environment).
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, describe, test } from "node:test";
import { plainCgroupDir } from "./plain-cgroup.ts";
import { parseCgroupMounts } from "./sandbox-cgroup.ts";
import { HelperHarness, waitFor } from "./testkit.ts";

const h = new HelperHarness();
after(() => h.cleanup());

const graceMs = 1000;
/** The server's margin beyond the grace before it replaces a task (lostAfter in src/server/reconcile/decide.ts). */
const serverMarginMs = 1000;

/** Live (not zombie) pids whose environment holds `entry`. */
function liveWith(entry: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "latin1");
      if (stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z") continue;
      if (fs.readFileSync(`/proc/${name}/environ`, "latin1").split("\0").includes(entry)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Main process ends on SIGTERM; one child ignores it in the task's group, one ignores it and left the
 * group and session (setsid), as a daemon does. Output goes nowhere: a dead helper's pipes raise SIGPIPE. */
const escaping = [
  "exec >/dev/null 2>&1",
  `setsid sh -c 'trap "" TERM; while :; do sleep 0.05; done' &`,
  "(trap '' TERM; exec sleep 300) &",
  "exec sleep 300",
].join("\n");

async function started(mark: string) {
  const dir = h.attempt({ command: ["sh", "-c", escaping], env: { PATH: "/usr/bin:/bin", TIFFIN_TEST_MARK: mark }, stop: { signal: "SIGTERM", graceMs }, fenceMs: 3_600_000 });
  const helper = h.start(dir);
  const agent = await h.agent(dir);
  await agent.waitStatus("running", (s) => s.state === "running", 30_000);
  // The main process, the stubborn child in its group and the setsid one (and its sleeps) are up.
  await waitFor("all three up", () => liveWith(`TIFFIN_TEST_MARK=${mark}`).length >= 4, 10_000);
  return { dir, helper, agent };
}

void test("plainCgroupDir: under the helper's own cgroup on the v2 mount, none without one", () => {
  const hybrid = parseCgroupMounts("cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n");
  const pure = parseCgroupMounts("cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n");
  const v1only = parseCgroupMounts("cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n");
  const cases: [string, ReturnType<typeof parseCgroupMounts>, string, string | null][] = [
    ["these machines (hybrid), helper at the v2 root", hybrid, "4:memory:/x\n0::/\n", "/sys/fs/cgroup/unified/tiffin-plain/t1"],
    ["pure v2, agent in a systemd service", pure, "0::/system.slice/tiffin-agent.service\n", "/sys/fs/cgroup/system.slice/tiffin-agent.service/tiffin-plain/t1"],
    ["no cgroup2 mount", v1only, "4:memory:/x\n", null],
    ["no v2 line for this process", pure, "4:memory:/x\n", null],
  ];
  for (const [name, mounts, self, want] of cases) assert.equal(plainCgroupDir(mounts, self, "t1"), want, name);
});

void describe("a plain task ends whole", { concurrency: true }, () => {
  void test("a stop reaches processes that ignore the stop signal or left the process group", async () => {
    const mark = `escape-stop-${process.pid}`;
    const { agent } = await started(mark);
    agent.send({ type: "stop", reason: "test" });
    const final = await agent.waitStatus("final", (s) => s.state === "failed" || s.state === "stopped" || s.state === "exited", 30_000);
    agent.send({ type: "ack" });
    // The final status comes once the task's processes are gone: nothing may be left at that moment.
    assert.deepEqual(liveWith(`TIFFIN_TEST_MARK=${mark}`), [], `left after the final status ${JSON.stringify(final)}`);
  });

  void test("a task whose main process exits leaves no daemon behind (the attempt is over)", async () => {
    const mark = `escape-exit-${process.pid}`;
    const daemon = `exec >/dev/null 2>&1; setsid sh -c 'trap "" TERM; while :; do sleep 0.05; done' & sleep 0.5; exit 3`;
    const dir = h.attempt({ command: ["sh", "-c", daemon], env: { PATH: "/usr/bin:/bin", TIFFIN_TEST_MARK: mark }, stop: { signal: "SIGTERM", graceMs }, fenceMs: 3_600_000 });
    h.start(dir);
    const agent = await h.agent(dir);
    const final = await agent.waitStatus("final", (s) => s.state === "failed" || s.state === "exited", 30_000);
    agent.send({ type: "ack" });
    assert.equal(final.exitCode, 3, JSON.stringify(final));
    assert.deepEqual(liveWith(`TIFFIN_TEST_MARK=${mark}`), [], "the setsid daemon outlived its attempt");
  });

  void test("a helper killed with SIGKILL takes every process of its task along within the grace", async () => {
    const mark = `escape-death-${process.pid}`;
    const { helper } = await started(mark);
    helper.proc.kill("SIGKILL");
    const killedAt = Date.now();
    await helper.exited;
    // The stop signal at once, SIGKILL after the grace; the server waits the grace and its margin.
    const left = await waitFor("all gone", () => (liveWith(`TIFFIN_TEST_MARK=${mark}`).length === 0 ? [] : null), graceMs + serverMarginMs + 3000).catch(() => liveWith(`TIFFIN_TEST_MARK=${mark}`));
    const took = Date.now() - killedAt;
    assert.deepEqual(left, [], `alive ${took} ms after the helper's death`);
    assert.ok(took <= graceMs + serverMarginMs, `the last process ended ${took} ms after its helper died (grace ${graceMs}, margin ${serverMarginMs})`);
  });
});
