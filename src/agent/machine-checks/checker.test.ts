// MachineChecker with real scripts and a real data dir: statuses, timeouts, and that only changes
// are pending (what heartbeats carry).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { MachineChecker } from "./checker.ts";

void test("machine checks: built-ins and scripts, only changes pending, timeouts kill the script", async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-mc-"));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const data = path.join(root, "data");
  const checks = path.join(root, "checks");
  fs.mkdirSync(data);
  fs.mkdirSync(checks);
  const script = (name: string, body: string, mode = 0o755) => fs.writeFileSync(path.join(checks, name), `#!/bin/sh\n${body}\n`, { mode });
  script("ok", "echo fine; exit 0");
  script("ecc", "echo 3 uncorrectable ECC errors; exit 2");
  script("slow", "sleep 5; echo never");
  script("notes.txt", "not a check", 0o644);
  const psi = path.join(root, "psi");
  fs.writeFileSync(psi, "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=55.00 avg60=0.00 avg300=0.00 total=0\n");
  const c = new MachineChecker({ dataDir: data, checksDir: checks, scriptTimeoutMs: 300, psiFile: psi, log: pino({ level: "silent" }), runtime: () => ({ name: "fake 1.0", probe: async () => "exit status 1" }) });

  assert.deepEqual(c.pending(), [], "nothing before the first pass ended");
  assert.equal(c.complete(), false);
  const t0 = Date.now();
  await c.runOnce();
  assert.ok(Date.now() - t0 < 3000, "the slow script was cut at its timeout, not waited for");
  const by = new Map(c.latest().map((r) => [r.name, r]));
  assert.deepEqual([...by.keys()].sort(), ["clock", "custom:ecc", "custom:ok", "custom:slow", "datadir", "disk", "inodes", "memory", "runtime"]);
  assert.equal(by.get("custom:ok")?.status, "pass");
  assert.equal(by.get("custom:ok")?.message, "fine");
  assert.equal(by.get("custom:ecc")?.status, "fail");
  assert.equal(by.get("custom:ecc")?.message, "3 uncorrectable ECC errors");
  assert.equal(by.get("custom:slow")?.status, "fail");
  assert.match(by.get("custom:slow")?.message ?? "", /timed out after 300 ms/);
  assert.equal(by.get("datadir")?.status, "pass");
  assert.equal(by.get("memory")?.status, "fail", "PSI full 55% fails");
  assert.equal(by.get("runtime")?.status, "fail");
  assert.equal(c.pending().length, 9, "every first result is a change");
  assert.equal(c.complete(), true, "the first set is complete: the server forgets checks this agent does not run");

  c.sent(c.pending(), true);
  assert.equal(c.complete(), false);
  assert.equal(c.pending().length, 0);
  await c.runOnce();
  assert.deepEqual(c.pending(), [], "nothing changed: nothing to send");

  script("ecc", "echo ok now; exit 0");
  fs.rmSync(path.join(checks, "slow"));
  c.serverTime(Date.now() - 10, Date.now(), Date.now() - 5000);
  await c.runOnce();
  const changed = c.pending().map((r) => `${r.name}=${r.status}`).sort();
  assert.deepEqual(changed, ["clock=fail", "custom:ecc=pass", "custom:slow=pass"], "only the changes: the fixed script, the removed one, the skewed clock");
  assert.match(c.pending().find((r) => r.name === "custom:slow")?.message ?? "", /removed/);
  c.resendAll();
  assert.equal(c.pending().length, 9);
  assert.equal(c.complete(), true);
});

void test("the runtime check runs a real test container through the detected runtime (skipped without one)", async (t) => {
  const { detectRuntime, reprobeRuntime } = await import("../isolation.ts");
  const { describeRuntime } = await import("../../helper/sandbox-config.ts");
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-mcrt-"));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const d = await detectRuntime(path.join(root, "probe"));
  const rt = d.runtime;
  if (rt === null) return t.skip(`no runtime here: ${d.problems.join("; ")}`);
  fs.mkdirSync(path.join(root, "data"));
  const c = new MachineChecker({ dataDir: path.join(root, "data"), log: pino({ level: "silent" }), runtime: () => ({ name: describeRuntime(rt), probe: () => reprobeRuntime({ ...d, runtime: rt }, path.join(root, "probe")) }) });
  await c.runOnce();
  const r = c.latest().find((x) => x.name === "runtime");
  assert.equal(r?.status, "pass", r?.message);
  assert.match(r?.message ?? "", /a test container ran/);
});
