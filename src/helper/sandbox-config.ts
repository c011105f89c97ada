// The OCI config.json of a task's sandbox, as a pure function of what the helper knows (tested by
// tables). The root is an empty directory of our own with the host's system directories bound
// read-only on it (never the host's / itself: runtimes create missing mount points in the root).
//
// Why `timeout 0` is the container's init: the first process of a pid namespace ignores every signal
// it has no handler for, so `sleep 30` or a Node program without a SIGTERM handler would never stop on
// SIGTERM. coreutils' timeout (duration 0 = none) forwards the stop signal to the task's process group
// and exits with the task's status (128+n for a signal), which the helper maps back to a signal name.
// It also stops the task when the runtime dies with the helper (supervise.ts).
import { defaultSandboxUser } from "./protocol.ts";
import type { RuntimeInfo, SandboxConfig, SandboxUser } from "./protocol.ts";
import { defaultSeccomp } from "./sandbox-seccomp.ts";
import type { OciSeccomp } from "./sandbox-seccomp.ts";
import type { PrivateDirs } from "./sandbox-private.ts";
import { supervisedArgv } from "./supervise.ts";
import type { DeathTools } from "./supervise.ts";

/** Everything the config depends on. */
export interface OciInput {
  command: string[];
  env: Record<string, string>;
  /** The task's work directory: bound writable at the same path, and its cwd. */
  workDir: string;
  hostname: string;
  stopSignal: string;
  /** The stop grace: the init kills the task this long after forwarding the stop signal. */
  graceMs: number;
  /** `timeout` (the init; null: the task is pid 1) and `setpriv` (parent-death signal) on the host. */
  tools: DeathTools;
  sandbox: SandboxConfig;
  /** Host directories bound read-only at the same path: /usr, /etc, /opt and unmerged /bin, /lib... */
  systemDirs: string[];
  /** `<parent>/<container id>/task`, or null (rootless: no cgroups). */
  cgroupsPath: string | null;
  /** The helper's uid/gid, mapped to root inside when rootless. */
  uid: number;
  gid: number;
  /** The private /var, /run and /home (sandbox-private.ts), or null for none. */
  privateDirs?: PrivateDirs | null;
  /** cgroup v1: keep the kernel's OOM killer out of the task (the helper watches `under_oom`, sandbox-oom.ts). */
  disableOomKiller?: boolean;
  /** cgroup v2: files of the leaf to set (memory.high below the limit, memory.oom.group; sandbox-oom-v2.ts). */
  unified?: Record<string, string> | null;
}

/** An OCI mount entry. */
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** The subset of the OCI runtime spec we write. */
export interface OciConfig {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<"bounding" | "effective" | "permitted" | "inheritable" | "ambient", string[]>;
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    namespaces: { type: string }[];
    uidMappings?: { containerID: number; hostID: number; size: number }[];
    gidMappings?: { containerID: number; hostID: number; size: number }[];
    cgroupsPath?: string;
    resources?: {
      memory: { limit: number; disableOOMKiller?: boolean };
      cpu: { quota: number; period: number };
      pids: { limit: number };
      /** cgroup v2 files set as they are (memory.high, memory.oom.group: sandbox-oom-v2.ts). */
      unified?: Record<string, string>;
    };
    maskedPaths: string[];
    readonlyPaths: string[];
    seccomp?: OciSeccomp;
  };
}

/** /proc entries hidden or made read-only, as Docker does. */
const procMasked = [
  "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
  "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
];

/**
 * Secrets of the host under the directories a sandbox binds read-only (/etc): hidden (an empty file
 * or directory in their place) even though an unprivileged task could not read most of them anyway,
 * so a task given a capability such as CAP_DAC_READ_SEARCH still finds nothing. The runtime skips
 * the ones a host lacks.
 */
export const hostSecretPaths = [
  "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/ssh", "/etc/sudoers", "/etc/sudoers.d",
  "/etc/ssl/private", "/etc/security/opasswd", "/etc/krb5.keytab",
];
const readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** CPU quota period, µs. */
export const cpuPeriodUs = 100_000;

/** The OCI config of one sandbox. */
export function ociConfig(o: OciInput): OciConfig {
  const { sandbox: sb } = o;
  const rootless = sb.runtime.rootless;
  const user: SandboxUser = sb.user ?? defaultSandboxUser;
  const userns = rootless ? null : user.userns;
  const priv = o.privateDirs ?? null;
  const ids = rootless ? { uid: 0, gid: 0 } : { uid: user.uid, gid: user.gid };
  // The task's own: tmpfs owned by its user, /var and /run filled from the layout template (the runtime
  // copies what lies under the mount point into the tmpfs: `tmpcopyup`, in crun and runc), or for
  // persisted /var and /home binds of its state dir.
  const privateMounts = (d: "var" | "run" | "home"): OciMount[] => {
    if (priv === null) return [];
    if (priv.stateDir !== null && d !== "run") return [{ destination: `/${d}`, type: "bind", source: `${priv.stateDir}/${d}`, options: ["rbind", "rw", "nosuid", "nodev"] }];
    const tmpfs: OciMount = { destination: `/${d}`, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=755", `uid=${ids.uid}`, `gid=${ids.gid}`] };
    if (d === "home") return [tmpfs];
    return [{ destination: `/${d}`, type: "bind", source: `${priv.template}/${d}`, options: ["rbind", "ro", "nosuid", "nodev"] }, { ...tmpfs, options: [...tmpfs.options, "tmpcopyup"] }];
  };
  const ro = (p: string): OciMount => ({ destination: p, type: "bind", source: p, options: ["rbind", "ro", "nosuid", "nodev"] });
  const binds: OciMount[] = [
    { destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"] },
    ...o.systemDirs.map(ro),
    ...sb.readOnlyPaths.map(ro),
    { destination: o.workDir, type: "bind", source: o.workDir, options: ["rbind", "rw", "nosuid", "nodev"] },
    // Private and writable: daemons want /var/lib/<name>, /var/log/<name>, /run/<name>.pid and a home.
    ...(["var", "run", "home"] as const).flatMap(privateMounts),
    ...sb.mounts.map((m) => ({ destination: m.task, type: "bind", source: m.host, options: ["rbind", m.writable ? "rw" : "ro", "nosuid", "nodev"] })),
  ];
  // Parents before children, so a bind under /tmp or under another bind lands on top of it (a stable
  // sort: the template's bind stays under its tmpfs).
  binds.sort((a, b) => depth(a.destination) - depth(b.destination));
  const mounts: OciMount[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    // A private devpts, as Docker gives every container: `tiffin exec -t` runs `crun exec --tty`, whose
    // terminal is made here (so the host's /dev/pts stays out). Its cost at start was not measurable
    // here (0.2 ms on a median of 60 `crun run`s, below the noise).
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", ...(rootless ? [] : ["gid=5"])] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    ...binds,
  ];
  const namespaces = [{ type: "pid" }, { type: "mount" }, { type: "ipc" }, { type: "uts" }];
  if (sb.network === "private") namespaces.push({ type: "network" });
  if (rootless || userns !== null) namespaces.push({ type: "user" });
  const argv = supervisedArgv(o.tools, { signal: o.stopSignal, graceMs: o.graceMs }, o.command);
  // Only what the spec asked for (and the agent allowed), in every set: ambient too, so that a task
  // that is not root inside still holds them after exec.
  const caps = [...(sb.capabilities ?? [])];
  const masked = [...procMasked, ...hostSecretPaths, ...(sb.hiddenPaths ?? [])];
  const linux: OciConfig["linux"] = { namespaces, maskedPaths: masked, readonlyPaths, seccomp: defaultSeccomp() };
  if (rootless) {
    linux.uidMappings = [{ containerID: 0, hostID: o.uid, size: 1 }];
    linux.gidMappings = [{ containerID: 0, hostID: o.gid, size: 1 }];
  } else if (userns !== null) {
    linux.uidMappings = [{ containerID: 0, hostID: userns.hostBase, size: userns.size }];
    linux.gidMappings = [{ containerID: 0, hostID: userns.hostBase, size: userns.size }];
  }
  const env = { ...o.env };
  if (priv !== null && env["HOME"] === undefined) env["HOME"] = "/home";
  if (o.cgroupsPath !== null && !rootless) {
    linux.cgroupsPath = o.cgroupsPath;
    linux.resources = {
      memory: { limit: sb.limits.memoryMiB * 1024 * 1024, ...(o.disableOomKiller ? { disableOOMKiller: true } : {}) },
      // At least 1 ms per period: the kernel refuses less.
      cpu: { quota: Math.max(1000, Math.round(sb.limits.cpu * cpuPeriodUs)), period: cpuPeriodUs },
      pids: { limit: sb.limits.pids },
      ...(o.unified ? { unified: o.unified } : {}),
    };
  }
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: ids,
      args: argv,
      env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      cwd: o.workDir,
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps },
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: o.hostname,
    mounts,
    linux,
  };
}

function depth(p: string): number {
  return p === "/" ? 0 : p.split("/").length - 1;
}

/** The host uid and gid a sandboxed task's processes and files have. */
export function taskHostIds(sb: SandboxConfig, helper: { uid: number; gid: number }): { uid: number; gid: number } {
  if (sb.runtime.rootless) return helper;
  const u = sb.user ?? defaultSandboxUser;
  return u.userns === null ? { uid: u.uid, gid: u.gid } : { uid: u.userns.hostBase + u.uid, gid: u.userns.hostBase + u.gid };
}

/** `crun 1.8.1` / `runc 1.1.5 rootless`: how a host reports its runtime. */
export function describeRuntime(r: RuntimeInfo | null): string {
  if (r === null) return "none";
  return `${r.name} ${r.version}${r.rootless ? " rootless" : ""}`;
}
