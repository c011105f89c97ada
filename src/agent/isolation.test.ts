import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { JobSpec } from "../model/index.ts";
import { USERNS_HOST_BASE } from "../helper/protocol.ts";
import type { RuntimeInfo, SandboxConfig } from "../helper/protocol.ts";
import { describeSandboxing, legacyMountNotice, nodeReadOnlyPaths, sandboxFor } from "./isolation.ts";
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

const cases: { name: string; spec: Partial<JobSpec>; ctx?: Partial<IsolationContext>; want: RegExp | "plain" | "plain as 65000:65001" | "sandbox" | "unsandboxed" }[] = [
  { name: "isolation none runs plain, with or without a runtime (an agent that is not root: as its user)", spec: { isolation: "none" }, ctx: { runtime: { runtime: null, problems: [] }, allowUnsandboxed: true, root: false }, want: "plain" },
  { name: "isolation none is refused without --allow-unsandboxed", spec: { isolation: "none" }, want: /^isolation "none" refused on host box-1: its agent runs no unsandboxed tasks; .*--allow-unsandboxed$/ },
  { name: "isolation none is refused without --allow-unsandboxed, even with --unsandboxed-fallback", spec: { isolation: "none" }, ctx: { runtime: { runtime: null, problems: [] }, unsandboxedFallback: true }, want: /^isolation "none" refused on host box-1/ },
  { name: "isolation none from a root agent runs as the task user", spec: { isolation: "none" }, ctx: { allowUnsandboxed: true, root: true, taskUser: { uid: 65000, gid: 65001 } }, want: "plain as 65000:65001" },
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
  { name: "a capability the agent does not allow", spec: { capabilities: ["CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"] }, ctx: { allowCapabilities: ["CAP_NET_BIND_SERVICE"] }, want: /^capabilities: CAP_SYS_ADMIN not allowed on host box-1 \(it allows CAP_NET_BIND_SERVICE\); drop them from the spec or ask the host's operator \(tiffin agent --allow-capabilities\)$/ },
  { name: "any capability, by default", spec: { capabilities: ["CAP_CHOWN"] }, want: /^capabilities: CAP_CHOWN not allowed on host box-1 \(it allows none\)/ },
  { name: "allowed capabilities", spec: { capabilities: ["CAP_NET_BIND_SERVICE"] }, ctx: { allowCapabilities: ["CAP_NET_BIND_SERVICE"] }, want: "sandbox" },
  { name: "no runtime, --unsandboxed-fallback, capabilities: refused (nothing would hold them back)", spec: { capabilities: ["CAP_CHOWN"] }, ctx: { runtime: { runtime: null, problems: [] }, unsandboxedFallback: true }, want: /^no OCI runtime on host box-1/ },
];
for (const c of cases) {
  void test(`sandboxFor: ${c.name}`, () => {
    const r = sandboxFor(testSpec(c.spec), { ...ctx, ...c.ctx });
    if (c.want === "plain") return assert.deepEqual(r, { sandbox: null });
    if (c.want === "plain as 65000:65001") return assert.deepEqual(r, { sandbox: null, runAs: { uid: 65000, gid: 65001 } });
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
      user: { uid: 65534, gid: 65534, userns: { hostBase: USERNS_HOST_BASE, size: 65536 } },
      capabilities: [],
      hiddenPaths: [],
      stateDir: null,
      layoutCache: "/var/lib/tiffin/layouts",
    },
  });
});

const users: { name: string; ctx: Partial<IsolationContext>; spec?: Partial<JobSpec>; want: Partial<SandboxConfig> }[] = [
  { name: "user namespace: nobody inside, mapped far above the host's users", ctx: {}, want: { user: { uid: 65534, gid: 65534, userns: { hostBase: USERNS_HOST_BASE, size: 65536 } } } },
  { name: "each job its own range: the one the agent's table gives the job (web, task 3)", ctx: { usernsBase: (job) => (job === "web" ? 1_000_196_608 : 7) }, want: { user: { uid: 65534, gid: 65534, userns: { hostBase: 1_000_196_608, size: 65536 } } } },
  { name: "no user namespace here: the --task-user ids on the host", ctx: { runtime: { runtime: crun, problems: [], userns: false }, taskUser: { uid: 4000, gid: 4001 }, usernsBase: () => assert.fail("no range without a user namespace") }, want: { user: { uid: 4000, gid: 4001, userns: null } } },
  { name: "persist: /var and /home in the data dir, per task", ctx: {}, spec: { persist: true }, want: { stateDir: "/var/lib/tiffin/state/web/3" } },
  { name: "a data dir under /etc (which tasks see) is hidden", ctx: { dataDir: "/etc/tiffin-agent" }, want: { hiddenPaths: ["/etc/tiffin-agent"] } },
  { name: "allowed capabilities reach the sandbox", ctx: { allowCapabilities: ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"] }, spec: { capabilities: ["CAP_NET_BIND_SERVICE"] }, want: { capabilities: ["CAP_NET_BIND_SERVICE"] } },
];
for (const u of users) {
  void test(`sandboxFor: ${u.name}`, () => {
    const r = sandboxFor(testSpec(u.spec ?? {}), { ...ctx, ...u.ctx }, { job: "web", index: 3 });
    assert.ok("sandbox" in r && r.sandbox !== null, JSON.stringify(r));
    for (const [k, v] of Object.entries(u.want)) assert.deepEqual(r.sandbox[k as keyof SandboxConfig], v, k);
  });
}

void test("sandboxFor: no range left is a refusal; a refused spec takes no range", () => {
  const r = sandboxFor(testSpec({}), { ...ctx, usernsBase: () => ({ refused: "exhausted" }) }, { job: "web", index: 0 });
  assert.ok("refused" in r);
  assert.match(r.refused, /^no user id range left on host box-1: .*place the job elsewhere$/);
  const w = sandboxFor(testSpec({}), { ...ctx, usernsBase: () => ({ refused: "unrecorded", error: "Error: ENOSPC: no space left on device" }) }, { job: "web", index: 0 });
  assert.deepEqual(w, { refused: "cannot record the job's user id range on host box-1 (Error: ENOSPC: no space left on device); free space in the agent's data directory" });
  const asked: string[] = [];
  const refused = sandboxFor(testSpec({ capabilities: ["CAP_SYS_ADMIN"] }), { ...ctx, usernsBase: (j) => (asked.push(j), 1) }, { job: "web", index: 0 });
  assert.ok("refused" in refused);
  assert.deepEqual(asked, []);
});

void test("legacyMountNotice: a writable mount still owned by the old shared range gets a notice naming the job's uids", () => {
  const base = USERNS_HOST_BASE + 3 * 65536;
  const owners: Record<string, number> = { "/srv/old": USERNS_HOST_BASE + 65534, "/srv/mine": base + 65534, "/srv/open": 0 };
  const ownerOf = (p: string): number | null => owners[p] ?? null;
  const m = (host: string, writable = true) => ({ host, task: "/x", writable });
  assert.equal(legacyMountNotice([m("/srv/mine"), m("/srv/open"), m("/missing")], base, ownerOf), null);
  assert.equal(legacyMountNotice([m("/srv/old", false)], base, ownerOf), null, "read-only: it reads as before (others may read)");
  assert.equal(legacyMountNotice([m("/srv/old")], USERNS_HOST_BASE, ownerOf), null, "one range for all (tests): nothing changed");
  assert.equal(legacyMountNotice([m("/srv/mine"), m("/srv/old")], base, ownerOf), `writable mount /srv/old belongs to uid 1000065534, the one user every sandboxed task was before each job got user ids of its own; this job's tasks are uids ${base}..${base + 65535} on this host (nobody is ${base + 65534}): give the directory to that uid (chown -R) or make it mode 1777`);
  const r = sandboxFor(testSpec({ mounts: [m("/srv/data/old")] }), { ...ctx, usernsBase: () => base, ownerOf: (p) => (p === "/srv/data/old" ? USERNS_HOST_BASE + 65534 : null) }, { job: "web", index: 0 });
  assert.ok("sandbox" in r && r.notice?.startsWith("writable mount /srv/data/old belongs to uid 1000065534"), JSON.stringify(r));
});

void test("describeSandboxing: who tasks run as, for tiffin hosts", () => {
  const nobody = { uid: 65534, gid: 65534 };
  assert.equal(describeSandboxing({ runtime: crun, problems: [], userns: true }, nobody), "crun 1.8.1, tasks as uid 65534 in a user namespace range per job");
  assert.equal(describeSandboxing({ runtime: crun, problems: [], userns: false }, nobody), "crun 1.8.1, tasks as uid 65534 on the host (no user namespace)");
  assert.equal(describeSandboxing({ runtime: { ...crun, rootless: true }, problems: [] }, nobody), "crun 1.8.1 rootless, tasks as the agent's user");
  assert.equal(describeSandboxing({ runtime: null, problems: [] }, nobody), "none");
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
  // The task is nobody in its job's user namespace range (a host uid of its own, userns-ranges.ts), not
  // root: a writable host directory must be open to it (1777, as /tmp) or chowned to that uid.
  fs.chmodSync(shared, 0o1777);
  const agent = await startAgent({
    server: server.url,
    joinToken: server.joinToken,
    dataDir,
    name: "box-1",
    labels: {},
    log: testLogger(),
    allowMounts: [shared],
    allowUnsandboxed: true,
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
  // ...as the task user, not the agent's (root), with its work dir its own (issue 17).
  const uidOf = (pid: number) => /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  assert.equal(uidOf(unsandboxed), "65534", "isolation none runs as --task-user (default nobody)");
  assert.equal(fs.statSync(path.join(dataDir, "attempts", plain.attempt.id, "work")).uid, 65534);
  assert.ok(alive(sandboxed) && alive(unsandboxed));
});
