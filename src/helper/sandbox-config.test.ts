import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { USERNS_HOST_BASE } from "./protocol.ts";
import type { SandboxConfig } from "./protocol.ts";
import { describeRuntime, ociConfig, taskHostIds } from "./sandbox-config.ts";
import { seccompArchitectures } from "./sandbox-seccomp.ts";
import type { OciInput } from "./sandbox-config.ts";
import { outOfMemoryReason, parseCgroupMounts } from "./sandbox-cgroup.ts";
import { parseRuntimeVersion } from "./sandbox-runtime.ts";
import { catches, taskExit } from "./sandbox-task.ts";
import { containerId } from "./sandbox.ts";

const sandbox: SandboxConfig = {
  runtime: { name: "crun", path: "/usr/bin/crun", version: "1.8.1", rootless: false, stateDir: null },
  network: "host",
  readOnlyPaths: ["/home/me/tiffin/node_modules/node/bin"],
  mounts: [{ host: "/srv/data", task: "/data", writable: true }, { host: "/etc/ssl", task: "/tmp/certs", writable: false }],
  limits: { cpu: 0.25, memoryMiB: 64, pids: 100 },
  cgroupParent: "/tiffin",
};
const input: OciInput = {
  command: ["node", "server.mjs"],
  env: { PATH: "/usr/bin", TASK_INDEX: "0" },
  workDir: "/var/lib/tiffin/attempts/a1/work",
  hostname: "box-1",
  stopSignal: "SIGTERM",
  graceMs: 1500,
  tools: { timeout: "/usr/bin/timeout", setpriv: "/usr/bin/setpriv" },
  sandbox,
  systemDirs: ["/usr", "/etc"],
  cgroupsPath: "/tiffin/x/task",
  uid: 1000,
  gid: 1000,
};

void test("ociConfig: namespaces, init, env, cwd, read-only root", () => {
  const c = ociConfig(input);
  assert.deepEqual(c.linux.namespaces.map((n) => n.type), ["pid", "mount", "ipc", "uts", "user"]);
  assert.deepEqual(c.process.args, ["/usr/bin/setpriv", "--pdeathsig", "TERM", "--", "/usr/bin/timeout", "-s", "SIGTERM", "-k", "1.5s", "0", "node", "server.mjs"]);
  assert.deepEqual(c.process.env, ["PATH=/usr/bin", "TASK_INDEX=0"]);
  assert.equal(c.process.cwd, input.workDir);
  assert.deepEqual(c.root, { path: "rootfs", readonly: true });
  assert.equal(c.process.noNewPrivileges, true);
  assert.ok(!c.process.capabilities.bounding.includes("CAP_SYS_ADMIN"));
  assert.deepEqual(ociConfig({ ...input, tools: { timeout: null, setpriv: null } }).process.args, ["node", "server.mjs"]);
});

void test("ociConfig: private network adds a network namespace", () => {
  const c = ociConfig({ ...input, sandbox: { ...sandbox, network: "private" } });
  assert.deepEqual(c.linux.namespaces.map((n) => n.type), ["pid", "mount", "ipc", "uts", "network", "user"]);
});

const users: { name: string; sb: Partial<SandboxConfig>; want: { user: { uid: number; gid: number }; userns: boolean; uidMappings?: unknown; hostIds: { uid: number; gid: number } } }[] = [
  {
    name: "default: nobody in a user namespace mapped far above the host's users",
    sb: {},
    want: { user: { uid: 65534, gid: 65534 }, userns: true, uidMappings: [{ containerID: 0, hostID: USERNS_HOST_BASE, size: 65536 }], hostIds: { uid: USERNS_HOST_BASE + 65534, gid: USERNS_HOST_BASE + 65534 } },
  },
  {
    name: "no user namespace on this host: the configured uid, as it is",
    sb: { user: { uid: 4000, gid: 4001, userns: null } },
    want: { user: { uid: 4000, gid: 4001 }, userns: false, hostIds: { uid: 4000, gid: 4001 } },
  },
  {
    name: "rootless runtime: the helper's user, root inside (the user setting does not apply)",
    sb: { runtime: { ...sandbox.runtime, rootless: true }, user: { uid: 4000, gid: 4001, userns: null } },
    want: { user: { uid: 0, gid: 0 }, userns: true, uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], hostIds: { uid: 1000, gid: 1000 } },
  },
];
for (const u of users) {
  void test(`ociConfig user: ${u.name}`, () => {
    const sb = { ...sandbox, ...u.sb };
    const c = ociConfig({ ...input, sandbox: sb });
    assert.deepEqual(c.process.user, u.want.user);
    assert.equal(c.linux.namespaces.some((n) => n.type === "user"), u.want.userns);
    assert.deepEqual(c.linux.uidMappings, u.want.uidMappings);
    assert.deepEqual(taskHostIds(sb, { uid: 1000, gid: 1000 }), u.want.hostIds);
  });
}

void test("ociConfig: no capabilities unless asked; asked ones in every set (ambient: a non-root task keeps them)", () => {
  const none = ociConfig(input).process.capabilities;
  assert.deepEqual(none, { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] });
  const c = ociConfig({ ...input, sandbox: { ...sandbox, capabilities: ["CAP_NET_BIND_SERVICE"] } }).process.capabilities;
  for (const set of Object.values(c)) assert.deepEqual(set, ["CAP_NET_BIND_SERVICE"]);
  assert.equal(ociConfig(input).process.noNewPrivileges, true);
});

void test("ociConfig: host secrets and extra hidden paths masked; a seccomp profile that refuses namespaces, mount, ptrace", () => {
  const c = ociConfig({ ...input, sandbox: { ...sandbox, hiddenPaths: ["/etc/tiffin-agent"] } });
  for (const p of ["/etc/shadow", "/etc/gshadow", "/etc/ssh", "/etc/sudoers", "/etc/ssl/private", "/etc/tiffin-agent", "/proc/kcore"]) assert.ok(c.linux.maskedPaths.includes(p), p);
  assert.equal(c.linux.seccomp?.defaultAction, "SCMP_ACT_ALLOW");
  const denied = c.linux.seccomp?.syscalls.flatMap((r) => r.names) ?? [];
  for (const call of ["unshare", "setns", "mount", "ptrace", "bpf", "kexec_load", "init_module", "keyctl"]) assert.ok(denied.includes(call), call);
  for (const call of ["read", "clone", "socket", "chroot"]) assert.ok(!denied.includes(call), call);
  assert.deepEqual(seccompArchitectures("x64"), ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
});

void test("ociConfig: private /var, /run, /home: tmpfs of the task's user, /var and /run copied up from the layout template; HOME=/home", () => {
  const privateDirs = { template: "/data/layouts/abc", stateDir: null };
  const c = ociConfig({ ...input, privateDirs });
  const tmpfs = ["nosuid", "nodev", "mode=755", "uid=65534", "gid=65534"];
  const at = (d: string) => c.mounts.filter((m) => m.destination === d);
  for (const d of ["var", "run"]) {
    assert.deepEqual(at(`/${d}`), [
      { destination: `/${d}`, type: "bind", source: `/data/layouts/abc/${d}`, options: ["rbind", "ro", "nosuid", "nodev"] },
      { destination: `/${d}`, type: "tmpfs", source: "tmpfs", options: [...tmpfs, "tmpcopyup"] },
    ], "the template first, the tmpfs over it");
  }
  assert.deepEqual(at("/home"), [{ destination: "/home", type: "tmpfs", source: "tmpfs", options: tmpfs }]);
  assert.ok(c.process.env.includes("HOME=/home"));
  assert.ok(ociConfig({ ...input, privateDirs, env: { HOME: "/srv" } }).process.env.includes("HOME=/srv"));
  assert.ok(!ociConfig(input).process.env.some((e) => e.startsWith("HOME=")), "no private dirs: nothing to point HOME at");
});

void test("ociConfig: persisted /var and /home are binds of the state dir; /run stays tmpfs", () => {
  const c = ociConfig({ ...input, privateDirs: { template: "/t", stateDir: "/data/state/web/0" } });
  const at = (d: string) => c.mounts.filter((m) => m.destination === d);
  assert.deepEqual(at("/var"), [{ destination: "/var", type: "bind", source: "/data/state/web/0/var", options: ["rbind", "rw", "nosuid", "nodev"] }]);
  assert.equal(at("/home")[0]?.source, "/data/state/web/0/home");
  assert.deepEqual(at("/run").map((m) => m.type), ["bind", "tmpfs"]);
});

void test("ociConfig: mounts: system dirs read-only, work dir writable, spec mounts as declared, parents first", () => {
  const c = ociConfig(input);
  const byDest = new Map(c.mounts.map((m) => [m.destination, m]));
  for (const d of ["/usr", "/etc", "/home/me/tiffin/node_modules/node/bin", "/tmp/certs"]) assert.ok(byDest.get(d)?.options.includes("ro"), d);
  for (const d of [input.workDir, "/data"]) assert.ok(byDest.get(d)?.options.includes("rw"), d);
  assert.equal(byDest.get("/data")?.source, "/srv/data");
  assert.equal(byDest.get("/tmp")?.type, "tmpfs");
  const order = c.mounts.map((m) => m.destination);
  assert.deepEqual(order.slice(0, 4), ["/proc", "/dev", "/dev/pts", "/dev/shm"]);
  assert.ok(byDest.get("/dev/pts")?.options.includes("newinstance"), "a private devpts, not the host's terminals");
  assert.ok(order.indexOf("/tmp") < order.indexOf("/tmp/certs"), "tmpfs /tmp before a bind under it");
  assert.equal(order.filter((d) => d === "/").length, 0);
});

void test("ociConfig: limits from the spec; a tiny cpu share still gets the kernel's minimum quota", () => {
  assert.deepEqual(ociConfig(input).linux.resources, { memory: { limit: 64 * 1024 * 1024 }, cpu: { quota: 25_000, period: 100_000 }, pids: { limit: 100 } });
  assert.equal(ociConfig({ ...input, sandbox: { ...sandbox, limits: { ...sandbox.limits, cpu: 0.001 } } }).linux.resources?.cpu.quota, 1000);
  assert.equal(ociConfig(input).linux.cgroupsPath, "/tiffin/x/task");
});

void test("ociConfig: rootless maps the user to root in a user namespace, without cgroups", () => {
  const c = ociConfig({ ...input, sandbox: { ...sandbox, runtime: { ...sandbox.runtime, rootless: true } } });
  assert.ok(c.linux.namespaces.some((n) => n.type === "user"));
  assert.deepEqual(c.linux.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }]);
  assert.equal(c.linux.resources, undefined);
  assert.equal(c.linux.cgroupsPath, undefined);
});

const exits: { code: number | null; signal: string | null; want: { exitCode: number | null; signal: string | null } }[] = [
  { code: 0, signal: null, want: { exitCode: 0, signal: null } },
  { code: 3, signal: null, want: { exitCode: 3, signal: null } },
  { code: 128, signal: null, want: { exitCode: 128, signal: null } },
  { code: 137, signal: null, want: { exitCode: null, signal: "SIGKILL" } },
  { code: 143, signal: null, want: { exitCode: null, signal: "SIGTERM" } },
  { code: 255, signal: null, want: { exitCode: 255, signal: null } },
  { code: null, signal: "SIGKILL", want: { exitCode: null, signal: "SIGKILL" } },
];
for (const e of exits) void test(`taskExit(${e.code}, ${e.signal})`, () => assert.deepEqual(taskExit(e.code, e.signal), e.want));

const MiB = 1024 * 1024;
const ooms: { name: string; signal: string | null; peak: number | null; kills: number | null; want: RegExp | null }[] = [
  { name: "v2 counted an OOM kill", signal: "SIGKILL", peak: 10 * MiB, kills: 1, want: /^out of memory: killed at its memory limit of 64 MiB \(peak 10\.0 MiB\)$/ },
  { name: "v2 no OOM kill, SIGKILL from someone", signal: "SIGKILL", peak: 64 * MiB, kills: 0, want: null },
  { name: "v1 SIGKILL at the limit", signal: "SIGKILL", peak: 64 * MiB, kills: null, want: /out of memory/ },
  { name: "v1 SIGKILL well below the limit", signal: "SIGKILL", peak: 20 * MiB, kills: null, want: null },
  { name: "v1 at the limit but exited normally", signal: null, peak: 64 * MiB, kills: null, want: null },
  { name: "nothing known", signal: "SIGKILL", peak: null, kills: null, want: null },
];
for (const o of ooms) {
  void test(`outOfMemoryReason: ${o.name}`, () => {
    const r = outOfMemoryReason(o.signal, { peakBytes: o.peak, oomKills: o.kills }, 64);
    if (o.want === null) assert.equal(r, null);
    else assert.match(r ?? "", o.want);
  });
}

void test("parseCgroupMounts: hybrid v1 + v2", () => {
  const text = [
    "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0",
    "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0",
    "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0",
    "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0",
  ].join("\n");
  assert.deepEqual(parseCgroupMounts(text), [
    { dir: "/sys/fs/cgroup/memory", version: 1, controllers: ["memory"] },
    { dir: "/sys/fs/cgroup/cpu,cpuacct", version: 1, controllers: ["cpu", "cpuacct"] },
    { dir: "/sys/fs/cgroup/unified", version: 2, controllers: [] },
  ]);
});

void test("runtime versions and how hosts report them", () => {
  assert.equal(parseRuntimeVersion("crun version 1.8.1\ncommit: f8a0\nrundir: /run/crun\n"), "1.8.1");
  assert.equal(parseRuntimeVersion("runc version 1.1.5+ds1\ncommit: 1.1.5"), "1.1.5");
  assert.equal(parseRuntimeVersion("nonsense"), null);
  assert.equal(describeRuntime(sandbox.runtime), "crun 1.8.1");
  assert.equal(describeRuntime({ ...sandbox.runtime, name: "runc", version: "1.1.5", rootless: true }), "runc 1.1.5 rootless");
  assert.equal(describeRuntime(null), "none");
});

void test("container ids: per attempt directory, runtime-safe characters", () => {
  assert.match(containerId("web-0:a/b", "/x/a1"), /^tiffin-web-0_a_b-[0-9a-f]{8}$/);
  assert.notEqual(containerId("a1", "/x/a1"), containerId("a1", "/y/a1"));
  assert.equal(containerId("a1", "/x/a1"), containerId("a1", "/x/a1"));
});

void test("catches: reads a process's signal handlers from /proc", async () => {
  const usr2 = 12;
  const handler = (): void => {};
  process.on("SIGUSR2", handler);
  try {
    assert.equal(catches(process.pid, usr2), true);
  } finally {
    process.off("SIGUSR2", handler);
  }
  const child = spawn("sleep", ["5"], { stdio: "ignore" });
  await once(child, "spawn");
  try {
    assert.equal(catches(child.pid ?? 0, 15), false, "sleep has no SIGTERM handler");
  } finally {
    child.kill("SIGKILL");
  }
  assert.equal(catches(2 ** 22 + 12345, usr2), false, "no such process");
});
