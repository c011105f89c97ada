// `tiffin exec` end to end: the real server (own process), a real agent, helpers and sandboxed tasks.
// Needs root and crun or runc, like src/helper/sandbox.test.ts (.ci/run installs crun).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { AuditEntry, ExecFrame, JobStatus } from "../api/types.ts";
import { serverAndAgent } from "./real-server.ts";
import { testSpec, waitFor } from "./test-fixtures.ts";

/** Output and exit of one exec through the server's API. */
async function execVia(url: string, token: string, task: string, command: string[]): Promise<{ status: number; stdout: string; stderr: string; last: ExecFrame | null; body: string }> {
  const r = await fetch(`${url}/v1/tasks/${task}/exec`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ command, user: "tester" }) });
  const body = await r.text();
  if (r.status !== 200) return { status: r.status, stdout: "", stderr: "", last: null, body };
  let stdout = "";
  let stderr = "";
  let last: ExecFrame | null = null;
  for (const line of body.split("\n").filter((l) => l !== "")) {
    const f = JSON.parse(line) as ExecFrame;
    if (f.type === "stdout") stdout += Buffer.from(f.data, "base64").toString();
    else if (f.type === "stderr") stderr += Buffer.from(f.data, "base64").toString();
    else last = f;
  }
  return { status: r.status, stdout, stderr, last, body };
}

void test("exec runs a command inside a running task's sandbox (and on the host for isolation none), streams output and exit code, audits it, refuses wrong tokens; usage is sampled and kept", { timeout: 90_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, "this test needs root (sandboxes with cgroup limits)");
  const { agentDir, agent, api, server: s } = await serverAndAgent(t, { prefix: "tiffin-exec-", name: "exec-1" });

  for (const spec of [
    testSpec({ name: "boxed", command: ["sleep", "300"], resources: { cpu: 0.1, memoryMiB: 64, diskMiB: 1 } }),
    testSpec({ name: "plain", command: ["sleep", "300"], env: { GREETING: "hello plain" }, isolation: "none", resources: { cpu: 0.1, memoryMiB: 64, diskMiB: 1 } }),
  ]) {
    const applied = await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec }) });
    assert.equal(applied.status, 200, await applied.clone().text());
  }
  for (const name of ["boxed", "plain"]) {
    await waitFor(`${name} running`, async () => {
      const st = (await (await api(`/v1/jobs/${name}`)).json()) as JobStatus;
      const t0 = st.tasks[0];
      return t0 && t0.pid !== null && (t0.state === "running" || t0.state === "healthy") ? t0 : null;
    }, 45_000);
  }

  // In the sandbox: pid 1 is the container's init running the task, not the host's init.
  const cmdline = await execVia(s.url, s.adminToken, "boxed/0", ["cat", "/proc/1/cmdline"]);
  assert.equal(cmdline.status, 200, cmdline.body);
  assert.deepEqual(cmdline.last, { type: "exit", code: 0, signal: null });
  const argv = cmdline.stdout.split("\0");
  assert.ok(argv.includes("sleep") && argv.includes("300"), `pid 1 in the sandbox runs the task: ${JSON.stringify(argv)}`);
  const hostInit = fs.readFileSync("/proc/1/cmdline", "utf8");
  assert.notEqual(cmdline.stdout, hostInit);
  // Issue 10 item 3: `tiffin exec web/0 -- wc -c /etc/shadow` read the host's shadow file. exec runs as
  // the task's user with the task's (no) capabilities, and the file is masked.
  const shadow = await execVia(s.url, s.adminToken, "boxed/0", ["sh", "-c", "wc -c < /etc/shadow; grep ^CapEff: /proc/self/status"]);
  assert.deepEqual(shadow.last, { type: "exit", code: 0, signal: null }, shadow.stderr);
  assert.match(shadow.stdout, /^0\nCapEff:\s*0+\n$/, "an empty /etc/shadow, no capabilities");
  assert.ok(fs.statSync("/etc/shadow").size > 0, "the host's shadow file is not empty: the probe could see it");
  const ids = await execVia(s.url, s.adminToken, "boxed/0", ["sh", "-c", "id -u; cat /proc/self/cgroup | grep -c tiffin; echo oops >&2; exit 3"]);
  assert.deepEqual(ids.last, { type: "exit", code: 3, signal: null });
  assert.match(ids.stdout, /^65534\n[1-9]\d*\n$/, "the task's unprivileged user (nobody), not root; in the task's cgroup");
  assert.equal(ids.stderr, "oops\n");
  const missing = await execVia(s.url, s.adminToken, "boxed/0", ["no-such-program-xyz"]);
  assert.equal(missing.last?.type, "exit");
  assert.notEqual(missing.last?.type === "exit" ? missing.last.code : 0, 0, "a missing program fails");

  // Isolation none: on the host, in the task's work dir with its environment, as the task's user
  // (the agent's --task-user, nobody), never as the agent's root (issue 17): the host token stays out of reach.
  const plain = await execVia(s.url, s.adminToken, "plain/0", ["sh", "-c", `pwd; echo $GREETING; id -u; cat ${agentDir}/agent.json || echo unreadable`]);
  assert.deepEqual(plain.last, { type: "exit", code: 0, signal: null });
  const [cwd, greeting, uid, token] = plain.stdout.split("\n");
  assert.ok(cwd?.startsWith(agentDir) && cwd.endsWith("/work"), `cwd is the work dir: ${cwd}`);
  assert.equal(greeting, "hello plain");
  assert.equal(uid, "65534");
  assert.equal(token, "unreadable");

  const viaCli = await execVia(s.url, s.adminToken, "boxed/0", ["sh", "-c", "echo 'x' | grep -q y"]);
  assert.deepEqual(viaCli.last, { type: "exit", code: 1, signal: null });

  // Refusals: a wrong admin token, an unknown task, an empty command; the agent wants its host token.
  const bad = await execVia(s.url, "not-the-token", "boxed/0", ["id"]);
  assert.equal(bad.status, 401);
  assert.equal((await execVia(s.url, s.adminToken, "nope/0", ["id"])).status, 404);
  assert.equal((await execVia(s.url, s.adminToken, "boxed/0", [])).status, 400);
  const attemptId = fs.readdirSync(path.join(agentDir, "attempts")).find((d) => JSON.parse(fs.readFileSync(path.join(agentDir, "attempts", d, "attempt.json"), "utf8")).job === "boxed")!;
  const direct = await fetch(`http://${agent.address}/v1/exec/${attemptId}`, { method: "POST", headers: { authorization: `Bearer ${s.adminToken}` }, body: JSON.stringify({ command: ["id"] }) });
  assert.equal(direct.status, 401, "the admin token does not open the agent's endpoint");

  // Usage: the helper samples the sandbox's cgroup (every 5 s), the agent reports it, the server keeps
  // it in the attempt and a per-minute history per task in the store.
  const hog = testSpec({ name: "hog", command: ["sh", "-c", "x=$(head -c 40000000 /dev/zero | tr '\\0' a); sleep 300"], resources: { cpu: 0.5, memoryMiB: 128, diskMiB: 1 } });
  assert.equal((await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec: hog }) })).status, 200);
  const sampled = await waitFor("hog's memory in its status", async () => {
    const st = (await (await api("/v1/jobs/hog")).json()) as JobStatus;
    const t0 = st.tasks[0];
    const u = t0?.attempts.find((a) => a.id === t0.attemptId)?.usage;
    return u && u.memoryBytes > 40e6 ? u : null;
  }, 30_000);
  assert.ok(sampled.memoryBytes < 128 * 1024 * 1024 && sampled.pids !== null && sampled.pids >= 2, JSON.stringify(sampled));
  // The history keeps one sample per minute (usage-history.ts): the minute's newest, held until the
  // minute is over, then written to the store.
  const history = await waitFor("the sample in the task's history", async () => {
    const h = (await (await api("/v1/tasks/hog/0/usage")).json()) as { at: number; memoryBytes: number; memoryMaxBytes: number; attemptId: string }[];
    return h.length >= 1 && h[h.length - 1]!.at >= sampled.at ? h : null;
  }, 15_000);
  assert.deepEqual(history.map((h) => h.at), [...history.map((h) => h.at)].sort((a, b) => a - b));
  const lastSample = history[history.length - 1]!;
  assert.ok(lastSample.memoryBytes > 40e6 && lastSample.memoryMaxBytes >= lastSample.memoryBytes, JSON.stringify(lastSample));

  // The audit log has every exec that reached a task, with who, what and how it ended.
  const audit = (await (await api("/v1/audit")).json()) as AuditEntry[];
  const execs = audit.filter((e) => e.action === "exec");
  assert.equal(execs.length, 6, JSON.stringify(execs, null, 1));
  const first = execs[0]!;
  assert.deepEqual([first.job, first.index, first.command, first.exitCode, first.user, first.attemptId], ["boxed", 0, ["cat", "/proc/1/cmdline"], 0, "tester", attemptId]);
  assert.ok(first.endedAt !== null && first.endedAt >= first.at);
  assert.deepEqual(execs.map((e) => e.exitCode), [0, 0, 3, missing.last?.type === "exit" ? missing.last.code : -1, 0, 1]);
  assert.ok(execs.every((e) => e.user === "tester" && e.remote !== null && e.hostId === agent!.hostId));
});
