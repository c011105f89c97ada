// Rootless sandboxes, for real: as root, the test drops to `nobody` (setpriv) to run the runtime probe
// and a whole helper, as a developer's `tiffin dev` without root would. Skipped when not root or
// without setpriv (then there is nobody to become).
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { readLogs } from "./logs.ts";
import type { HelperConfig, RuntimeInfo } from "./protocol.ts";
import { findBinary, runtimeNames } from "./sandbox-runtime.ts";
import { collect, FakeAgent, testSandbox } from "./testkit.ts";

const nobody = 65534;
const setpriv = findBinary("setpriv");
const skip = process.getuid?.() !== 0 ? "needs root (to become nobody)" : setpriv === null ? "needs setpriv" : false;
const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-rootless-"));
fs.chmodSync(root, 0o755);
fs.chownSync(root, nobody, nobody);
const spawned: number[] = [];
after(() => {
  for (const pid of spawned) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  fs.rmSync(root, { recursive: true, force: true });
});

function asNobody(args: string[]): string[] {
  return [setpriv ?? "setpriv", `--reuid=${nobody}`, `--regid=${nobody}`, "--clear-groups", "env", "-i", "PATH=/usr/bin:/bin", `HOME=${root}`, process.execPath, ...args];
}

void test("rootless: the probe and a task run as nobody; the task is root in its own namespaces, confined", { skip, timeout: 30_000 }, async () => {
  const script = `const { probeRuntime } = await import(${JSON.stringify(path.join(import.meta.dirname, "sandbox.ts"))});
    const r = JSON.parse(process.argv[1]); console.log(JSON.stringify(await probeRuntime(r, ${JSON.stringify(root)})));`;
  let runtime: RuntimeInfo | null = null;
  for (const name of runtimeNames) {
    const bin = findBinary(name);
    if (bin === null) continue;
    const r: RuntimeInfo = { name, path: bin, version: "?", rootless: true, stateDir: path.join(root, `${name}-state`) };
    const [file, ...args] = asNobody(["--input-type=module", "-e", script, JSON.stringify(r)]);
    const out = execFileSync(file ?? "", args, { encoding: "utf8", timeout: 20_000 }).trim();
    if (out === "null") {
      runtime = r;
      break;
    }
  }
  assert.ok(runtime, "no runtime works rootless here");

  const dir = path.join(root, "a1");
  fs.mkdirSync(dir);
  const cfg: HelperConfig = {
    attemptId: "a1",
    job: "t",
    index: 0,
    command: ["sh", "-c", "id -u; echo x > ./mine && echo wrote-work; echo x > /usr/pwned || echo no-usr; ls /proc | grep -c '^[0-9]'; x=$(head -c 30000000 /dev/zero | tr '\\0' a); sleep 1"],
    env: { PATH: "/usr/bin:/bin" },
    files: {},
    ports: {},
    health: null,
    stop: { signal: "SIGTERM", graceMs: 1000 },
    fenceMs: 60_000,
    logSegmentBytes: 1 << 20,
    logSegmentsKept: 5,
    sandbox: testSandbox(runtime, { readOnlyPaths: [] }),
    usageSampleMs: 100,
  };
  fs.writeFileSync(path.join(dir, "attempt.json"), JSON.stringify(cfg));
  fs.chownSync(dir, nobody, nobody);
  const [file, ...args] = asNobody([path.join(import.meta.dirname, "main.ts"), dir]);
  const helper = spawn(file ?? "", args, { detached: true, stdio: "ignore" });
  if (helper.pid) spawned.push(helper.pid);
  const agent = await FakeAgent.connect(dir);
  const final = await agent.waitStatus("exited", (s) => s.state === "exited" || s.state === "failed", 20_000);
  agent.send({ type: "ack" });
  agent.close();
  assert.equal(final.state, "exited", JSON.stringify(final));
  const out = (await collect(readLogs(dir, "stdout"))).trim().split("\n");
  assert.deepEqual(out.slice(0, 3), ["0", "wrote-work", "no-usr"]);
  assert.ok(Number(out[3]) <= 6, `sees ${out[3]} processes`);
  assert.equal(fs.statSync(path.join(dir, "work", "mine")).uid, nobody, "files the task writes belong to the user on the host");
  // No cgroup of its own: usage comes from the process tree in /proc (usage-proc.ts).
  // The peak, not the last sample: that one may come as the shell lets its 30 MB go or exits (CI runs
  // saw 1.6 MB and 2 processes, then 0 bytes and 1 process).
  assert.ok(final.usage && (final.usage.memoryPeakBytes ?? 0) > 30e6 && final.usage.pids !== null && final.usage.pids >= 1, `usage from /proc: ${JSON.stringify(final.usage)}`);
});
