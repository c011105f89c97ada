// Machine checks and remediation with real parts: the real server (child process) with a remediation
// rule and a budget of one host, three real agents each running a custom check script from its
// --checks-dir, and the real CLI. A check failing on one host drains it; failing on every host drains
// at most the budget and raises the alert (status, `tiffin hosts`, metrics); a host whose check
// passes again is undrained by the rule, and the budget then takes the next host.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import type { ClusterView, HostChecksView, HostView, RemediationsView } from "../api/types.ts";
import { startAgent } from "./main.ts";
import type { AgentHandle } from "./main.ts";
import { startRealServer } from "./real-server.ts";
import type { RealServer } from "./real-server.ts";
import { killAttempts, testLogger, waitFor } from "./test-fixtures.ts";

const tiffinBin = path.join(import.meta.dirname, "..", "..", "bin", "tiffin.js");

void test("a custom check failing drains its host within the remediation budget, alerts, and returns hosts to service", async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-remed-"));
  const agents: AgentHandle[] = [];
  let server: RealServer | null = null;
  t.after(async () => {
    for (const a of agents) await a.close("leave-tasks").catch(() => {});
    for (const n of ["a", "b", "c"]) killAttempts(path.join(root, n));
    await server?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const remediation = {
    rules: [
      // Runs in the agent's data dir (root/<name>): fixes the host unless a `nofix` file says it cannot.
      { name: "self-heal", checks: ["custom:heal"], actions: ["repair", "drain"], forMs: 0, escalateAfterMs: 3_600_000, returnToService: true, commandTimeoutMs: 5000,
        command: ["/bin/sh", "-c", "if [ -e nofix ]; then echo cannot fix this one; exit 3; fi; rm -f ../heal-$(basename \"$PWD\"); echo cleaned up"] },
      { name: "hardware", checks: ["custom:*"], actions: ["drain", "ticket"], forMs: 0, escalateAfterMs: 3_600_000, returnToService: true, commandTimeoutMs: 5000 },
    ],
    budget: { maxHosts: 1, maxDomainPct: 100, rateCount: 100, ratePerMs: 60_000 },
  };
  server = await startRealServer(path.join(root, "server"), { extra: { remediation } });
  const s = server;
  const flag = (n: string) => path.join(root, `broken-${n}`);
  for (const n of ["a", "b", "c"]) {
    const checks = path.join(root, `checks-${n}`);
    fs.mkdirSync(checks);
    fs.writeFileSync(path.join(checks, "ecc"), `#!/bin/sh\nif [ -e ${flag(n)} ]; then echo "3 uncorrectable ECC errors on DIMM 2"; exit 2; fi\necho ok\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(checks, "heal"), `#!/bin/sh\nif [ -e ${path.join(root, `heal-${n}`)} ]; then echo "scratch space full"; exit 2; fi\necho ok\n`, { mode: 0o755 });
    agents.push(await startAgent({
      server: s.url, joinToken: s.joinToken, dataDir: path.join(root, n), name: n, labels: { rack: `r-${n}` }, log: testLogger(),
      checksDir: checks, checkIntervalMs: 150, runtimeDetection: { runtime: null, problems: ["not needed here"] },
    }));
  }
  const api = async <T>(p: string): Promise<T> => {
    const r = await fetch(`${s.url}${p}`, { headers: { authorization: `Bearer ${s.adminToken}` } });
    assert.equal(r.status, 200, `${p}: ${r.status}`);
    return (await r.json()) as T;
  };
  const cli = async (...argv: string[]): Promise<string> => {
    const r = await promisify(execFile)(process.execPath, [tiffinBin, ...argv], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", HOME: root, TIFFIN_ADDR: s.url, TIFFIN_TOKEN: s.adminToken } });
    return r.stdout;
  };
  const hosts = () => api<HostView[]>("/v1/hosts");
  const draining = async () => (await hosts()).filter((h) => h.draining).map((h) => h.name).sort();
  // The budget must hold at every look, not only at the end.
  let worst = 0;
  const watchBudget = setInterval(() => void draining().then((d) => (worst = Math.max(worst, d.length)), () => {}), 100);
  t.after(() => clearInterval(watchBudget));

  await waitFor("every host's first checks", async () => (await hosts()).length === 3 && (await api<HostChecksView>("/v1/hosts/c/checks")).checks.some((c) => c.name === "custom:ecc"));
  assert.deepEqual(await draining(), []);

  // One host's check fails: that host is drained, with a record of why.
  fs.writeFileSync(flag("a"), "");
  await waitFor("host a drained", async () => (await draining()).join() === "a", 10_000);
  let rem = await api<RemediationsView>("/v1/remediations");
  assert.equal(rem.remediations.length, 1);
  const first = rem.remediations[0]!;
  assert.equal(first.hostName, "a");
  assert.equal(first.check, "custom:ecc");
  assert.equal(first.action, "drain");
  assert.equal(first.state, "active");
  assert.equal(first.reason, "3 uncorrectable ECC errors on DIMM 2");
  assert.equal(first.outcome, "drained");
  assert.equal(rem.alert, null);
  const table = await cli("hosts");
  assert.match(table, /FAILING CHECKS/);
  assert.match(table.split("\n").find((l) => l.startsWith("a "))!, /custom:ecc/);

  // Every host fails: the budget (1 host) holds; the others wait and the alert is raised.
  fs.writeFileSync(flag("b"), "");
  fs.writeFileSync(flag("c"), "");
  rem = await waitFor("the budget alert", async () => {
    const r = await api<RemediationsView>("/v1/remediations");
    return r.alert !== null && r.alert.blocked.length === 2 ? r : null;
  }, 10_000);
  assert.deepEqual(rem.alert!.blocked.map((b) => b.hostName).sort(), ["b", "c"]);
  assert.deepEqual(rem.alert!.limits, ["hosts"]);
  assert.deepEqual(await draining(), ["a"], "only the budget's one host is drained");
  assert.equal((await api<ClusterView>("/v1/cluster")).remediationAlert?.blocked.length, 2, "cluster status carries the alert");
  assert.match(await cli("hosts"), /ALERT: remediation budget spent: 2 failing hosts held back \(hosts limit\)/);
  const metrics = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${s.adminToken}` } })).text();
  assert.match(metrics, /^tiffin_remediation_budget_exhausted 1$/m);
  assert.match(metrics, /^tiffin_remediation_blocked_hosts 2$/m);
  const json = JSON.parse(await cli("remediations", "--json")) as RemediationsView;
  assert.equal(json.remediations.length, 1);
  assert.match(await cli("remediations"), /ALERT: .*\n {2}held back: (b \(custom:ecc\), c|c \(custom:ecc\), b) \(custom:ecc\)/);

  // Host a is fixed: the rule returns it to service, and the budget takes the next host.
  fs.rmSync(flag("a"));
  const next = await waitFor("a undrained, then b or c drained", async () => {
    const d = await draining();
    return d.length === 1 && d[0] !== "a" ? d[0] : null;
  }, 10_000);
  assert.ok(next === "b" || next === "c");
  rem = await api<RemediationsView>("/v1/remediations");
  const a = rem.remediations.find((r) => r.hostName === "a")!;
  assert.equal(a.state, "resolved");
  assert.equal(a.outcome, "check passes again: undrained");

  // Everything passes again: no host drained, the alert is gone.
  fs.rmSync(flag("b"));
  fs.rmSync(flag("c"));
  await waitFor("every host back in service, the alert gone", async () => (await draining()).length === 0 && (await api<RemediationsView>("/v1/remediations")).alert === null, 15_000);
  assert.equal(worst, 1, "never more than the budget's one host drained at any look");
  assert.equal((await api<ClusterView>("/v1/cluster")).remediationAlert, undefined);

  // A repair through the agent: it runs the rule's command on the host, the check passes, resolved.
  fs.writeFileSync(path.join(root, "heal-c"), "");
  const healed = await waitFor("c repaired", async () => (await api<RemediationsView>("/v1/remediations")).remediations.find((r) => r.hostName === "c" && r.action === "repair" && r.state === "resolved"), 10_000);
  assert.equal(healed.exitCode, 0);
  assert.equal(healed.outcome, "check passes again");
  assert.ok(!fs.existsSync(path.join(root, "heal-c")), "the command ran on c's agent");
  assert.deepEqual(await draining(), []);
  // A repair that fails escalates at once to the rule's next step: drain.
  fs.writeFileSync(path.join(root, "b", "nofix"), "");
  fs.writeFileSync(path.join(root, "heal-b"), "");
  await waitFor("b drained after its repair failed", async () => (await draining()).join() === "b", 10_000);
  const b = (await api<RemediationsView>("/v1/remediations")).remediations.filter((r) => r.hostName === "b" && r.check === "custom:heal");
  assert.deepEqual(b.map((r) => `${r.action}:${r.state}`), ["drain:active", "repair:failed"]);
  assert.equal(b[1]!.outcome, "repair exited 3: cannot fix this one: escalated to drain");
  assert.equal(b[1]!.escalatedTo, b[0]!.id);
  fs.rmSync(path.join(root, "heal-b"));
  await waitFor("b back in service", async () => (await draining()).length === 0, 10_000);

  // `tiffin hosts a` shows the check's history: ok, failing, ok again.
  const checks = await api<HostChecksView>("/v1/hosts/a/checks");
  const ecc = checks.checks.find((c) => c.name === "custom:ecc")!;
  assert.deepEqual(ecc.history.map((h) => h.status), ["pass", "fail", "pass"]);
  const shown = await cli("hosts", "a");
  assert.match(shown, /custom:ecc\s+PASS/);
  assert.match(shown, /fail\s+\S+ \S+\s+3 uncorrectable ECC errors on DIMM 2/);
  assert.match(shown, /datadir\s+PASS/);
});
