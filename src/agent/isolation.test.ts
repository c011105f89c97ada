import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { JobSpec } from "../model/index.ts";
import type { RuntimeInfo } from "../helper/protocol.ts";
import { nodeReadOnlyPaths, sandboxFor } from "./isolation.ts";
import type { IsolationContext } from "./isolation.ts";
import { startAgent } from "./main.ts";
import { alive, FakeServer, killAttempts, testAssignment, testLogger, testSpec, waitFor } from "./test-fixtures.ts";

const crun: RuntimeInfo = { name: "crun", path: "/usr/bin/crun", version: "1.8.1", rootless: false, stateDir: null };
const ctx: IsolationContext = {
  hostName: "box-1",
  runtime: { runtime: crun, problems: [] },
  allowMounts: ["/srv/data"],
  readOnlyPaths: ["/opt/node/bin"],
  dataDir: "/var/lib/tiffin",
};

const cases: { name: string; spec: Partial<JobSpec>; ctx?: Partial<IsolationContext>; want: RegExp | "plain" | "sandbox" | "unsandboxed" }[] = [
  { name: "isolation none runs plain, with or without a runtime", spec: { isolation: "none" }, ctx: { runtime: { runtime: null, problems: [] } }, want: "plain" },
  { name: "a spec stored before isolation existed is sandboxed", spec: {}, want: "sandbox" },
  { name: "no runtime: refused with what to do", spec: {}, ctx: { runtime: { runtime: null, problems: ["crun: not installed", "runc: not installed"] } }, want: /^no OCI runtime on host box-1: install crun, or set isolation: "none" \(crun: not installed; runc: not installed\)$/ },
  { name: "no runtime, --unsandboxed-fallback: plain, with a notice", spec: {}, ctx: { runtime: { runtime: null, problems: ["crun: not installed"] }, unsandboxedFallback: true }, want: "unsandboxed" },
  { name: "no runtime, --unsandboxed-fallback, private network: refused (no namespace to give it)", spec: { network: "private" }, ctx: { runtime: { runtime: null, problems: [] }, unsandboxedFallback: true }, want: /^no OCI runtime on host box-1/ },
  { name: "read-only mount anywhere", spec: { mounts: [{ host: "/etc/ssl", task: "/certs", writable: false }] }, want: "sandbox" },
  { name: "writable mount inside the allow-list", spec: { mounts: [{ host: "/srv/data/app", task: "/data", writable: true }] }, want: "sandbox" },
  { name: "writable mount of the allowed prefix itself", spec: { mounts: [{ host: "/srv/data", task: "/data", writable: true }] }, want: "sandbox" },
  { name: "writable mount outside the allow-list", spec: { mounts: [{ host: "/srv/database", task: "/data", writable: true }] }, want: /^mounts\[0\]: writable mount of \/srv\/database is not in the --allow-mounts list of host box-1 \(it allows \/srv\/data\)/ },
  { name: "writable mount with the default, empty allow-list", spec: { mounts: [{ host: "/srv/data", task: "/data", writable: true }] }, ctx: { allowMounts: [] }, want: /it allows none/ },
  { name: "read-only mount of the agent's data dir", spec: { mounts: [{ host: "/var/lib/tiffin/agent.json", task: "/x", writable: false }] }, want: /overlaps the agent's data directory/ },
  { name: "read-only mount of a parent of the data dir", spec: { mounts: [{ host: "/var", task: "/x", writable: false }] }, want: /overlaps the agent's data directory/ },
];
for (const c of cases) {
  void test(`sandboxFor: ${c.name}`, () => {
    const r = sandboxFor(testSpec(c.spec), { ...ctx, ...c.ctx });
    if (c.want === "plain") return assert.deepEqual(r, { sandbox: null });
    if (c.want === "unsandboxed") {
      assert.ok("sandbox" in r && r.sandbox === null && /^running UNSANDBOXED on host box-1: no OCI runtime works here \(crun: not installed\)/.test(r.notice ?? ""), JSON.stringify(r));
      return;
    }
    if (c.want === "sandbox") {
      assert.ok("sandbox" in r && r.sandbox !== null, JSON.stringify(r));
      return;
    }
    assert.ok("refused" in r, JSON.stringify(r));
    assert.match(r.refused, c.want);
  });
}

void test("sandboxFor: limits, network and mounts reach the helper's config", () => {
  const r = sandboxFor(testSpec({ network: "private", resources: { cpu: 1.5, memoryMiB: 300, diskMiB: 10 }, mounts: [{ host: "/a", task: "/b", writable: false }] }), ctx);
  assert.deepEqual(r, {
    sandbox: {
      runtime: crun,
      network: "private",
      readOnlyPaths: ["/opt/node/bin"],
      mounts: [{ host: "/a", task: "/b", writable: false }],
      limits: { cpu: 1.5, memoryMiB: 300, pids: 4096 },
      cgroupParent: "/tiffin",
    },
  });
});

void test("nodeReadOnlyPaths: the node binary's dir and PATH entries whose node is that binary, nothing under /usr", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-nodepaths-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, "node", "bin"), { recursive: true });
  fs.mkdirSync(path.join(dir, ".bin"));
  fs.mkdirSync(path.join(dir, "other"));
  const bin = path.join(dir, "node", "bin", "node");
  fs.writeFileSync(bin, "");
  fs.symlinkSync("../node/bin/node", path.join(dir, ".bin", "node"));
  fs.writeFileSync(path.join(dir, "other", "node"), ""); // a different node: not bound
  const pathVar = [path.join(dir, ".bin"), path.join(dir, "other"), "/usr/bin", "relative"].join(":");
  assert.deepEqual(nodeReadOnlyPaths(pathVar, bin), [path.join(dir, ".bin"), path.join(dir, "node", "bin")].sort());
  assert.deepEqual(nodeReadOnlyPaths(pathVar, "/usr/bin/env"), []);
});

void test("agent: a writable mount outside --allow-mounts is refused; an allowed one and isolation none run", { timeout: 30_000 }, async (t) => {
  const server = new FakeServer();
  await server.up();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-agent-iso-"));
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-allowed-"));
  const agent = await startAgent({
    server: server.url,
    joinToken: server.joinToken,
    dataDir,
    name: "box-1",
    labels: {},
    log: testLogger(),
    allowMounts: [shared],
  });
  t.after(async () => {
    await agent.close("leave-tasks").catch(() => {});
    killAttempts(dataDir);
    await server.down();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(shared, { recursive: true, force: true });
  });
  const sh = (script: string) => ["/bin/sh", "-c", script];
  const refused = testAssignment("att-iso-refused", testSpec({ name: "r", command: sh("true"), mounts: [{ host: "/opt", task: "/x", writable: true }] }));
  const allowed = testAssignment("att-iso-allowed", testSpec({ name: "a", command: sh("echo hi > /out/file; sleep 30"), mounts: [{ host: shared, task: "/out", writable: true }] }));
  const plain = testAssignment("att-iso-plain", testSpec({ name: "p", command: sh("sleep 30"), isolation: "none" }));
  server.assign([refused, allowed, plain]);
  const end = await waitFor("refusal", () => server.updatesOf(refused.attempt.id).find((u) => u.state === "failed"));
  assert.match(end.reason ?? "", /^mounts\[0\]: writable mount of .* is not in the --allow-mounts list of host box-1/);
  const pidOf = (id: string) => server.updatesOf(id).find((u) => u.state === "running" && u.pid !== null)?.pid ?? null;
  const [sandboxed, unsandboxed] = await waitFor("both running", () => {
    const a = pidOf(allowed.attempt.id);
    const p = pidOf(plain.attempt.id);
    return a !== null && p !== null ? [a, p] : null;
  });
  await waitFor("file through the writable mount", () => fs.existsSync(path.join(shared, "file")));
  const pidNs = (pid: number) => fs.readlinkSync(`/proc/${pid}/ns/pid`);
  assert.notEqual(pidNs(sandboxed), pidNs(process.pid), "sandboxed: its own pid namespace");
  assert.equal(pidNs(unsandboxed), pidNs(process.pid), "isolation none: the host's");
  assert.ok(alive(sandboxed) && alive(unsandboxed));
});
