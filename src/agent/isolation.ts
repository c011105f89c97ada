// Sandboxes from the agent's side: which OCI runtime works on this host (detected once, by running a
// trivial container), what a sandboxed task may see of the host, and the decision per attempt
// (`sandboxFor`, pure): a SandboxConfig for the helper, plain for isolation "none", or a refusal.
import fs from "node:fs";
import path from "node:path";
import type { Capability, JobSpec } from "../model/index.ts";
import { isolationOf } from "../model/index.ts";
import { USERNS_HOST_BASE, USERNS_RANGE_SIZE } from "../helper/protocol.ts";
import type { RuntimeInfo, SandboxConfig, SandboxUser } from "../helper/protocol.ts";
import { probeRuntime } from "../helper/sandbox.ts";
import { describeRuntime } from "../helper/sandbox-config.ts";
import { findBinary, runtimeNames, runtimeVersion } from "../helper/sandbox-runtime.ts";
import type { NoRange } from "./userns-store.ts";

/** Most processes and threads a sandboxed task may have at once. */
export const DEFAULT_PIDS_LIMIT = 4096;
/** The cgroup under which every sandbox of this host lives. */
export const CGROUP_PARENT = "/tiffin";

/** What detection found: the runtime to use, or null with why none works. */
export interface RuntimeDetection {
  runtime: RuntimeInfo | null;
  /** One line per runtime that was tried and failed (or is missing). */
  problems: string[];
  /** Tasks get a user namespace (the probe ran in one); false: they run as the configured uid on the
   * host (`--task-user`), and `usernsProblem` says why. Absent: true (detections made in tests). */
  userns?: boolean;
  /** Why the runtime could not start a container in a user namespace here. */
  usernsProblem?: string;
}

/** The task's ids when nobody says otherwise: nobody/nogroup. */
export const DEFAULT_TASK_USER = { uid: 65534, gid: 65534 };

let cached: Promise<RuntimeDetection> | null = null;

/**
 * Finds the first runtime of crun, runc that starts a container here (rootless when not root), once per
 * process: every later call gets the same answer. `scratchDir` holds the probe's bundle for a moment.
 */
export function detectRuntime(scratchDir: string): Promise<RuntimeDetection> {
  cached ??= detectUncached(scratchDir);
  return cached;
}

async function detectUncached(scratchDir: string): Promise<RuntimeDetection> {
  const problems: string[] = [];
  const rootless = (process.getuid?.() ?? 0) !== 0;
  fs.mkdirSync(scratchDir, { recursive: true, mode: 0o700 });
  for (const name of runtimeNames) {
    const bin = findBinary(name);
    if (bin === null) {
      problems.push(`${name}: not installed`);
      continue;
    }
    const version = await runtimeVersion(bin);
    if (version === null) {
      problems.push(`${name}: ${bin} --version failed`);
      continue;
    }
    // Rootless runtimes keep their state where the user may write: XDG_RUNTIME_DIR, else the scratch dir.
    const stateDir = rootless ? path.join(process.env["XDG_RUNTIME_DIR"] || scratchDir, `${name}-state`) : null;
    const runtime: RuntimeInfo = { name, path: bin, version, rootless, stateDir };
    const why = await probeRuntime(runtime, scratchDir);
    if (why === null) return { runtime, problems, userns: true };
    // Without a user namespace (a kernel that refuses them, or a runtime that cannot reach the bundle
    // as the namespace's root) a task still runs unprivileged: as the configured uid on the host.
    if (!rootless && (await probeRuntime(runtime, scratchDir, { user: { ...DEFAULT_TASK_USER, userns: null } })) === null) {
      return { runtime, problems, userns: false, usernsProblem: why };
    }
    problems.push(`${name}${rootless ? " (rootless)" : ""}: ${why}`);
  }
  return { runtime: null, problems };
}

/** Runs the detected runtime's test container again (the machine check `runtime`): null when it ran,
 * else why not. As detection found it: in a user namespace, or as the task user without one. */
export function reprobeRuntime(d: RuntimeDetection & { runtime: RuntimeInfo }, scratchDir: string): Promise<string | null> {
  fs.mkdirSync(scratchDir, { recursive: true, mode: 0o700 });
  return probeRuntime(d.runtime, scratchDir, d.userns === false ? { user: { ...DEFAULT_TASK_USER, userns: null } } : {});
}

const systemPrefixes = ["/usr", "/etc", "/opt", "/bin", "/sbin", "/lib", "/lib64"];

function under(p: string, prefix: string): boolean {
  return p === prefix || p.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`);
}

/**
 * Host paths a sandbox binds read-only so `node` means inside what it means outside: the directory of
 * the agent's own Node binary, and each PATH entry whose `node` is that binary (in a checkout,
 * node_modules/.bin/node -> ../node/bin/node). Nothing else of the checkout is exposed, since a
 * `tiffin dev` data dir (tokens) may sit inside it. Paths under /usr, /etc, /opt are bound anyway.
 */
export function nodeReadOnlyPaths(pathVar: string, execPath = process.execPath): string[] {
  let real: string;
  try {
    real = fs.realpathSync(execPath);
  } catch {
    return [];
  }
  const out = new Set<string>([path.dirname(real)]);
  for (const dir of pathVar.split(":")) {
    if (!dir.startsWith("/")) continue;
    try {
      if (fs.realpathSync(path.join(dir, "node")) === real) out.add(dir);
    } catch {
      // no node here
    }
  }
  return [...out].filter((p) => !systemPrefixes.some((s) => under(p, s))).sort();
}

/** What `sandboxFor` needs to know about the agent. */
export interface IsolationContext {
  hostName: string;
  runtime: RuntimeDetection;
  /** Host path prefixes that writable mounts may use (`--allow-mounts`). */
  allowMounts: string[];
  readOnlyPaths: string[];
  /** The agent's data directory: never mountable (tokens, other tasks' files); hidden from tasks when
   * it lies under a system directory they see (/etc, /opt...). Persisted /var and /home live in it. */
  dataDir: string;
  /** Capabilities specs may ask for (`--allow-capabilities`). @default none */
  allowCapabilities?: readonly string[];
  /** The ids tasks run as (`--task-user`): inside their user namespace, or on the host without one. @default DEFAULT_TASK_USER */
  taskUser?: { uid: number; gid: number };
  /** With no working runtime, run sandboxed tasks as plain processes and say so, instead of refusing
   * them (`--unsandboxed-fallback`; `tiffin dev` on a machine without root or user namespaces). */
  unsandboxedFallback?: boolean;
  /** Run isolation "none" tasks (`--allow-unsandboxed`); refused otherwise, since such a task runs on
   * the host itself. @default false */
  allowUnsandboxed?: boolean;
  /** The agent runs as root, so a task can be made another user (`taskUser`). @default process.getuid() === 0 */
  root?: boolean;
  /** The first host id of a job's user namespace range (userns-store.ts: one per job of a namespace),
   * or why it has none (a refusal). @default USERNS_HOST_BASE for every job (one range for all: tests) */
  usernsBase?: (job: string) => number | NoRange;
  /** The owner uid of a host path, or null (none there): writable mounts still owned by the range every
   * task shared before get a notice (legacyMountNotice). @default not looked at */
  ownerOf?: (hostPath: string) => number | null;
}

/**
 * What to tell a task whose writable mounts belong to the one user every sandboxed task was before
 * ranges were per job (host uid 1000000000 + id, the README's old advice), now that its job is other
 * host users: it cannot write there until the operator gives the dir to the job's range. Null when none
 * is. Pure.
 */
export function legacyMountNotice(mounts: readonly { host: string; writable: boolean }[], hostBase: number, ownerOf: (p: string) => number | null): string | null {
  if (hostBase === USERNS_HOST_BASE) return null;
  const legacy = mounts.filter((m) => {
    const uid = m.writable ? ownerOf(m.host) : null;
    return uid !== null && uid >= USERNS_HOST_BASE && uid < USERNS_HOST_BASE + USERNS_RANGE_SIZE;
  });
  if (legacy.length === 0) return null;
  const paths = legacy.map((m) => m.host).join(", ");
  return `writable mount ${paths} belongs to uid ${ownerOf(legacy[0]?.host ?? "") ?? "?"}, the one user every sandboxed task was before each job got user ids of its own; this job's tasks are uids ${hostBase}..${hostBase + USERNS_RANGE_SIZE - 1} on this host (nobody is ${hostBase + 65534}): give the directory to that uid (chown -R) or make it mode 1777`;
}

/** Who an isolation "none" task runs as: the task user when the agent is root (so it can read neither
 * the agent's data dir nor its tokens), else null (the agent's own user: it cannot change users). Pure. */
export function plainTaskUser(ctx: Pick<IsolationContext, "taskUser" | "root">): { uid: number; gid: number } | null {
  return (ctx.root ?? (process.getuid?.() ?? 0) === 0) ? { ...(ctx.taskUser ?? DEFAULT_TASK_USER) } : null;
}

/** Why an agent refuses an isolation "none" task (it was not started with --allow-unsandboxed). */
export function unsandboxedRefusal(hostName: string): string {
  return `isolation "none" refused on host ${hostName}: its agent runs no unsandboxed tasks; sandbox the job (remove isolation: "none"), or start the agent with --allow-unsandboxed`;
}

/**
 * How `tiffin hosts` shows this host's sandboxes: the runtime, and who tasks run as:
 * "crun 1.8.1, tasks as uid 65534 in a user namespace range per job" or, where the kernel refuses user namespaces,
 * "crun 1.8.1, tasks as uid 65534 on the host (no user namespace)".
 */
export function describeSandboxing(d: RuntimeDetection, taskUser: { uid: number; gid: number }): string {
  const r = d.runtime;
  if (r === null) return describeRuntime(null);
  if (r.rootless) return `${describeRuntime(r)}, tasks as the agent's user`;
  return `${describeRuntime(r)}, tasks as uid ${taskUser.uid} ${d.userns === false ? "on the host (no user namespace)" : "in a user namespace range per job"}`;
}

/** The capabilities of `asked` that `allowed` does not cover (pure; also the scheduler's question). */
export function refusedCapabilities(asked: readonly Capability[], allowed: readonly string[]): Capability[] {
  return asked.filter((c) => !allowed.includes(c));
}

/** The owner uid of a host path, or null when nothing is there (IsolationContext.ownerOf). */
export function statOwner(p: string): number | null {
  try {
    return fs.statSync(p).uid;
  } catch {
    return null;
  }
}

/** Why a sandbox was refused for want of a user id range (userns-store.ts). */
export function noRangeReason(hostName: string, why: NoRange): string {
  if (why.refused === "unrecorded") return `cannot record the job's user id range on host ${hostName} (${why.error}); free space in the agent's data directory`;
  return `no user id range left on host ${hostName}: every range of its user namespace pool belongs to a job that still has tasks or persisted state here; remove jobs this host no longer needs (their state goes after --state-keep) or place the job elsewhere`;
}

/** Where a task's persisted /var and /home live on the host (spec `persist`). */
export function taskStateDir(dataDir: string, job: string, index: number): string {
  return path.join(dataDir, "state", job, String(index));
}

/** The sandbox of an attempt (null for isolation "none", or unsandboxed with a notice), or why this
 * agent refuses to run it. `task` names the task, for a persisted /var. `runAs`: the uid and gid of a
 * task without a sandbox (absent: the agent's user). */
export function sandboxFor(
  spec: JobSpec,
  ctx: IsolationContext,
  task: { job: string; index: number } = { job: spec.name, index: 0 },
): { sandbox: SandboxConfig | null; notice?: string; runAs?: { uid: number; gid: number } } | { refused: string } {
  const iso = isolationOf(spec);
  if (iso.isolation === "none") {
    if (ctx.allowUnsandboxed !== true) return { refused: unsandboxedRefusal(ctx.hostName) };
    const runAs = plainTaskUser(ctx);
    return runAs === null ? { sandbox: null } : { sandbox: null, runAs };
  }
  const runtime = ctx.runtime.runtime;
  if (runtime === null) {
    const why = ctx.runtime.problems.length > 0 ? ` (${ctx.runtime.problems.join("; ")})` : "";
    // Unsandboxed, a task gets neither a network namespace nor bind mounts: those specs are refused.
    if (ctx.unsandboxedFallback && iso.network === "host" && iso.mounts.length === 0 && iso.capabilities.length === 0) {
      return { sandbox: null, notice: `running UNSANDBOXED on host ${ctx.hostName}: no OCI runtime works here${why}; the task runs as a plain process of the agent's user` };
    }
    return { refused: `no OCI runtime on host ${ctx.hostName}: install crun, or set isolation: "none"${why}` };
  }
  for (const [i, m] of iso.mounts.entries()) {
    if (under(m.host, ctx.dataDir) || under(ctx.dataDir, m.host)) {
      return { refused: `mounts[${i}]: ${m.host} overlaps the agent's data directory on host ${ctx.hostName}, which tasks may not see` };
    }
    if (m.writable && !ctx.allowMounts.some((a) => under(m.host, a))) {
      const allowed = ctx.allowMounts.length === 0 ? "it allows none" : `it allows ${ctx.allowMounts.join(", ")}`;
      return { refused: `mounts[${i}]: writable mount of ${m.host} is not in the --allow-mounts list of host ${ctx.hostName} (${allowed}); mount it read-only or ask the host's operator` };
    }
  }
  const refused = refusedCapabilities(iso.capabilities, ctx.allowCapabilities ?? []);
  if (refused.length > 0) {
    const allowed = (ctx.allowCapabilities ?? []).length === 0 ? "it allows none" : `it allows ${(ctx.allowCapabilities ?? []).join(", ")}`;
    return { refused: `capabilities: ${refused.join(", ")} not allowed on host ${ctx.hostName} (${allowed}); drop them from the spec or ask the host's operator (tiffin agent --allow-capabilities)` };
  }
  const ids = ctx.taskUser ?? DEFAULT_TASK_USER;
  // Asked last, so a refused spec takes no range; a rootless runtime maps the agent's user instead.
  const hostBase = ctx.runtime.userns === false || runtime.rootless ? null : ctx.usernsBase ? ctx.usernsBase(task.job) : USERNS_HOST_BASE;
  if (hostBase !== null && typeof hostBase !== "number") return { refused: noRangeReason(ctx.hostName, hostBase) };
  const user: SandboxUser = { ...ids, userns: hostBase === null ? null : { hostBase, size: USERNS_RANGE_SIZE } };
  const hidden = systemPrefixes.some((s) => under(ctx.dataDir, s)) ? [ctx.dataDir] : [];
  const notice = hostBase !== null && ctx.ownerOf ? legacyMountNotice(iso.mounts, hostBase, ctx.ownerOf) : null;
  return {
    ...(notice !== null ? { notice } : {}),
    sandbox: {
      runtime,
      network: iso.network,
      readOnlyPaths: [...ctx.readOnlyPaths],
      mounts: iso.mounts.map((m) => ({ ...m })),
      limits: { cpu: spec.resources.cpu, memoryMiB: spec.resources.memoryMiB, pids: DEFAULT_PIDS_LIMIT },
      cgroupParent: CGROUP_PARENT,
      user,
      capabilities: [...iso.capabilities],
      hiddenPaths: hidden,
      stateDir: iso.persist ? taskStateDir(ctx.dataDir, task.job, task.index) : null,
      layoutCache: path.join(ctx.dataDir, "layouts"),
    },
  };
}
