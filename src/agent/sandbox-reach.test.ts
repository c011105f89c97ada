// A sandboxed task cannot reach the agent's or the server's API with anything it can read (issue 17).
// A real server (its own process), a real agent and a task in crun on the host network (the default,
// so both APIs are one connect away on loopback). The task gathers every token-like string it can
// read: its env, its files, /proc (its own and any other pid it sees), the folders above its work
// dir, /etc/tiffin, the host paths its mount table names (the agent's data dir among them), and tries
// each against the server and the agent, and without any token. Every call must be refused, and none
// of the cluster's secrets (admin, join, host and peer tokens) may be among what it found. The same
// probe runs beside it with isolation "none" (the agent started with --allow-unsandboxed): on the host
// itself, as the task user, it must find nothing usable either (before, it ran as the agent's user and
// read agent.json). After the run, nothing in the server's or the agent's data dir is open to group or
// others but the traverse-only (0711) directories an unsandboxed task passes through.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { openToOthers } from "../model/private-probe.ts";
import { serverAndAgent } from "./real-server.ts";
import { testSpec, waitFor } from "./test-fixtures.ts";

/** The task: runs in the sandbox with the node binary the agent binds read-only. */
const probe = String.raw`
const fs = require("node:fs"), path = require("node:path");
const found = new Set(), readable = [];
// On the host (isolation "none") the whole machine is in view: the probe keeps to what holds the
// cluster's secrets (the dirs above its work dir: the agent's and the server's data dirs; /etc/tiffin,
// /root, /run; every process's env and command line), not every mount point and /var (minutes of reading).
const onHost = process.env.PROBE_HOST === "1";
// Tokens are base64url (43 characters for 32 bytes), API tokens prefixed: any run of 20 or more.
const take = (text) => { for (const m of text.match(/[A-Za-z0-9_.-]{20,120}/g) ?? []) if (found.size < 50000 && !/^[a-z0-9_.-]+$/.test(m)) found.add(m); };
const read = (p) => { try { const st = fs.statSync(p); if (st.isFile() && st.size < 1 << 20) { const t = fs.readFileSync(p, "latin1"); readable.push(p); take(t); } else if (st.isDirectory()) return fs.readdirSync(p); } catch {} return []; };
const walk = (p, depth) => { for (const e of read(p)) if (depth > 0) walk(path.join(p, e), depth - 1); };
take(Object.entries(process.env).map(([k, v]) => k + "=" + v).join("\n"));
for (const pid of read("/proc")) if (/^\d+$/.test(pid)) for (const f of onHost ? ["environ", "cmdline"] : ["environ", "cmdline", "maps"]) read("/proc/" + pid + "/" + f);
const mounts = (() => { try { return fs.readFileSync("/proc/self/mountinfo", "utf8"); } catch { return ""; } })();
// The mount points that are not the system's read-only dirs (the work dir, packages, private dirs).
const system = ["/proc", "/dev", "/sys", "/usr", "/etc", "/opt", "/bin", "/lib", "/lib64", "/sbin", path.dirname(process.execPath)];
const hostPaths = new Set(onHost ? [] : mounts.split("\n").map((l) => l.split(" ")[4]).filter((p) => p && p !== "/" && !system.some((s) => p === s || p.startsWith(s + "/"))));
for (let d = process.cwd(); d !== "/"; d = path.dirname(d)) hostPaths.add(d);
for (const p of [...hostPaths, ...(onHost ? ["/etc/tiffin", "/root", "/run"] : ["/etc/tiffin", "/root", "/home", "/tmp", "/run", "/var", "/var/lib"])]) walk(p, 3);
for (const f of ["agent.json", "admin.token", "join.token", "state.db", "state.db-wal"]) for (const p of hostPaths) read(path.join(path.dirname(path.dirname(p)), f));
// Every string found is checked for the cluster's secrets; the first 60 (20 on the host) are also tried on the APIs.
const tries = ["", ...[...found].slice(0, onHost ? 20 : 60)];
const calls = [[process.env.SERVER_URL, "/v1/jobs"], [process.env.SERVER_URL, "/v1/whoami"], [process.env.SERVER_URL, "/v1/agent/assignments"], [process.env.AGENT_URL, "/metrics"], [process.env.AGENT_URL, "/v1/logs/" + process.env.ATTEMPT_ID]];
(async () => {
  const ok = [];
  const statuses = {};
  await Promise.all([0, 1, 2, 3].map(async (w) => { for (const t of tries.filter((_, i) => i % 4 === w)) for (const [base, p] of calls) {
    const ac = new AbortController(); const timer = setTimeout(() => ac.abort(), 2000);
    try { const r = await fetch(base + p, { headers: t ? { authorization: "Bearer " + t } : {}, signal: ac.signal }); statuses[r.status] = (statuses[r.status] ?? 0) + 1; if (r.status < 300) ok.push(p + " with " + t.slice(0, 12)); await r.body?.cancel(); } catch (e) { statuses.error = (statuses.error ?? 0) + 1; } finally { clearTimeout(timer); }
  } }));
  // The whole report goes to a file of the work dir (a log line is cut at 128 KiB); the log says when.
  fs.writeFileSync("report.json", JSON.stringify({ ok, statuses, tried: tries.length, readable, found: [...found] }));
  console.log("PROBE done");
  setInterval(() => {}, 1000);
})();
`;

/** What a probe found and got. */
interface ProbeReport {
  ok: string[];
  statuses: Record<string, number>;
  tried: number;
  readable: string[];
  found: string[];
}

void test("a sandboxed task, and an isolation none one, find no token they can use against the agent or the server", async (t) => {
  const { root, agentDir, server, agent, api } = await serverAndAgent(t, { prefix: "tiffin-reach-", name: "reach-1" });
  const hosts = (await (await api("/v1/hosts")).json()) as { name: string; address: string }[];
  const address = hosts.find((h) => h.name === "reach-1")?.address;
  assert.ok(address, "the agent's address");
  const env = { SERVER_URL: server.url, AGENT_URL: `http://${address}`, ATTEMPT_ID: "${ATTEMPT_ID}" };
  const resources = { cpu: 0.5, memoryMiB: 256, diskMiB: 10 };
  for (const spec of [testSpec({ name: "probe", command: ["node", "-e", probe], env, resources }), testSpec({ name: "probe-none", isolation: "none", command: ["node", "-e", probe], env: { ...env, PROBE_HOST: "1" }, resources })]) {
    const applied = await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec }) });
    assert.equal(applied.status, 200, await applied.clone().text());
  }
  const reportOf = async (job: string): Promise<ProbeReport> => {
    await waitFor(`the report of ${job}`, async () => {
      const r = await api(`/v1/tasks/${job}/0/logs?stream=stdout`);
      return r.status === 200 && (await r.text()).includes("PROBE done") ? true : null;
    }, 60_000);
    const task = ((await (await api(`/v1/jobs/${job}`)).json()) as { tasks: { attemptId: string | null }[] }).tasks[0];
    assert.ok(task?.attemptId, `${job}'s attempt`);
    return JSON.parse(fs.readFileSync(path.join(agentDir, "attempts", task.attemptId, "work", "report.json"), "utf8")) as ProbeReport;
  };
  const agentJson = JSON.parse(fs.readFileSync(path.join(agentDir, "agent.json"), "utf8")) as Record<string, unknown>;
  const secrets: Record<string, string> = { admin: server.adminToken, join: server.joinToken };
  for (const [k, v] of Object.entries(agentJson)) if (typeof v === "string" && /token/i.test(k)) secrets[`agent.json ${k}`] = v;
  assert.ok(Object.keys(secrets).length >= 3, `the host token is in agent.json: ${Object.keys(agentJson).join(", ")}`);
  for (const job of ["probe", "probe-none"]) {
    const report = await reportOf(job);
    const leaked = Object.entries(secrets).filter(([, v]) => report.found.some((f) => f.includes(v) || v.includes(f) && f.length >= 20)).map(([k]) => k);
    assert.deepEqual(leaked, [], `${job}: secrets the task could read (files of the data dirs it read: ${report.readable.filter((f) => f.startsWith(root)).join(", ")})`);
    assert.deepEqual(report.ok, [], `${job}: calls the task got through`);
    assert.ok(report.tried >= 1 && (report.statuses["401"] ?? 0) >= 5, `${job}: every call refused: ${JSON.stringify(report.statuses)}`);
    assert.equal(report.statuses["error"], undefined, `${job}: the APIs were reachable (refused, not unreachable): the probe tested what it says`);
    console.log(`sandbox reach, ${job}: ${report.tried} tokens tried, statuses ${JSON.stringify(report.statuses)}, ${report.readable.length} files read`);
    if (process.env["TIFFIN_TEST_DEBUG"]) console.log(report.readable.join("\n"));
  }
  // File modes after a run: the server's and the agent's data dirs are the owner's only (issue 17),
  // but what the task itself must reach (its work dir, the rootfs, the traverse-only bundle dir) and
  // what holds no data: the helper bundle (code) and layouts/ (the empty skeleton of the host's /var
  // and /run that private dirs are filled from); all of it under the data dir, which like attempts/ and
  // the unsandboxed task's attempt dir is traverse-only (0711: --allow-unsandboxed) and lists nothing.
  const traverseOnly = (p: string): boolean => p === agentDir || p === path.join(agentDir, "attempts") || path.dirname(p) === path.join(agentDir, "attempts");
  const open = openToOthers(path.join(root, "server")).concat(openToOthers(agentDir, {
    allowed: (p, st) => st.isDirectory() && (path.basename(p) === "sandbox" || traverseOnly(p)) && (st.mode & 0o777) === 0o711,
    descend: (p) => !["work", "rootfs", "layouts", "helper"].includes(path.basename(p)),
  }).filter((l) => !/\/(layouts|helper) 7[57]5$/.test(l)));
  assert.equal(fs.statSync(agentDir).mode & 0o777, 0o711);
  assert.equal(fs.statSync(path.join(root, "server")).mode & 0o777, 0o700);
  assert.deepEqual(open, [], "paths of the data dirs open to group or others");
  void agent;
});
