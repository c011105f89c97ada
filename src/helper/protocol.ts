// How an agent and a helper talk. Each helper owns one attempt directory:
//   DIR/attempt.json   HelperConfig, written by the agent before it starts the helper
//   DIR/status.json    HelperStatus, rewritten atomically (write + rename) by the helper on every change
//   DIR/helper.sock    unix socket the helper listens on; newline-delimited JSON messages
//   DIR/helper.pid     the helper's pid
//   DIR/work/          the task's working directory
//   DIR/logs/          stdout.<n>.log.zst / stderr.<n>.log.zst segments (see logs.ts)
// The agent connects to helper.sock and sends `ping` at least every fenceMs/3; the helper sends numbered
// probes (`ping` with `seq`, every fenceMs/5) that the agent echoes at once and in its later pings: an
// echo counts from when its probe left the helper (fence.ts). A helper that has had no
// ping for fenceMs (or past `awayUntil`, whichever is later) stops its task: stop signal, grace, kill,
// because the server is about to place a replacement (fencing). A new agent re-adopts helpers by
// listing attempt directories and connecting to their sockets.

// The schemas of these shapes are in protocol-schema.ts and config-schema.ts: this file stays free of
// zod at run time, as the helper process must (checks.ts).
import type { AttemptStatus, BindMount, HealthCheck, Network } from "../model/index.ts";

/** Everything a helper needs to run one attempt. */
export interface HelperConfig {
  attemptId: string;
  job: string;
  index: number;
  /** Fully expanded argv. */
  command: string[];
  /** Full environment of the task (the agent adds TASK_INDEX, PORT_* and friends). */
  env: Record<string, string>;
  /** Files to write into work/ before the start. */
  files: Record<string, { content: string; mode: number }>;
  ports: Record<string, number>;
  health: HealthCheck | null;
  stop: { signal: string; graceMs: number };
  /** Stop the task when no ping came for this long. */
  fenceMs: number;
  /** Log segment size before rotation, bytes. */
  logSegmentBytes: number;
  /** Segments kept per stream. */
  logSegmentsKept: number;
  /**
   * Run the task in an OCI sandbox (spec isolation "sandbox"). Absent or null: a plain process group
   * (isolation "none", and attempt.json files written before sandboxes existed).
   */
  sandbox?: SandboxConfig | null;
  /** Without a sandbox: the uid and gid the task runs as (set by `setpriv` after it joined its cgroup);
   * its work dir is made theirs. Absent: the helper's own user (an agent that is not root). */
  runAs?: { uid: number; gid: number };
  /** A directory on a tmpfs (the agent's, one per attempt) holding `secrets.json` (`{env, files}`: the
   * task's secret values), which the helper reads and removes at start: secret env vars go to the task
   * only, secret files into `files/` there (0400, the task's), seen as work/secrets; a sandbox's
   * config.json (it holds the env) is kept there too. Removed when the task ends. Never on disk. */
  secretsDir?: string;
  /** A line the helper writes to the task's stderr log before the task starts (e.g. that it runs
   * unsandboxed because no runtime works on this host). */
  notice?: string;
  /** How often the helper samples its sandbox's cgroup (ms). @default 5000 */
  usageSampleMs?: number;
  /** The work directory's size limit (the spec's resources.diskMiB); absent: not watched. */
  diskLimitMiB?: number;
  /** How often the work directory's size is checked (ms). @default 5000 */
  diskCheckMs?: number;
}

/** The OCI runtime an agent found working (see sandbox-runtime.ts). */
export interface RuntimeInfo {
  name: "crun" | "runc";
  /** Absolute path of the binary. */
  path: string;
  version: string;
  /** Running without root: a user namespace maps the agent's user to root in the sandbox; no cgroup limits. */
  rootless: boolean;
  /** The runtime's state directory (`--root`), or null for its default. */
  stateDir: string | null;
}

/** How the helper sandboxes its task. */
export interface SandboxConfig {
  runtime: RuntimeInfo;
  network: Network;
  /** Extra host paths bound read-only at the same path (the agent's Node runtime, so `node` in PATH works). */
  readOnlyPaths: string[];
  /** The spec's bind mounts (already checked against the agent's allow-list). */
  mounts: BindMount[];
  /** Cores (CPU quota), MiB of memory, and the most processes/threads at once. */
  limits: { cpu: number; memoryMiB: number; pids: number };
  /** cgroup (absolute, e.g. "/tiffin") under which each attempt gets `<container id>/task`. */
  cgroupParent: string;
  /** Who the task is (ignored when the runtime is rootless: the helper's user, root inside). @default defaultSandboxUser */
  user?: SandboxUser;
  /** Capabilities the task gets ("CAP_NET_BIND_SERVICE"); the agent checked them against its allow-list. @default none */
  capabilities?: string[];
  /** Host paths hidden from the task besides the usual secrets (sandbox-config.ts): e.g. the agent's data
   * dir when it lies under a bound system directory. @default none */
  hiddenPaths?: string[];
  /** A host directory keeping the task's /var and /home across its attempts (spec `persist`); null or
   * absent: both are fresh for each attempt, in the attempt directory. */
  stateDir?: string | null;
  /** Where layout templates of the private /var and /run are kept, shared by attempts (the agent's
   * DATA/layouts). @default DIR/sandbox/layouts, made again for each attempt */
  layoutCache?: string;
}

/** The task's identity in its sandbox. */
export interface SandboxUser {
  /** uid and gid of the task's processes inside the sandbox (never 0 by default). */
  uid: number;
  gid: number;
  /** A user namespace mapping ids 0..size-1 inside to hostBase.. on the host; null: none, so `uid` and
   * `gid` are host ids (hosts that do not allow user namespaces). */
  userns: { hostBase: number; size: number } | null;
}

/** Host uid of sandbox id 0 when a user namespace is used: far above real users (/etc/subuid ranges
 * start at 100000), so a task's files and processes belong to nobody on the host. */
export const USERNS_HOST_BASE = 1_000_000_000;

/** Host ids in one task range (ids 0..65535 inside its user namespace). */
export const USERNS_RANGE_SIZE = 65536;

/** End (exclusive) of the host ids Tiffin's ranges take, from USERNS_HOST_BASE on: 2^31, since ids
 * past it break tools that read them as signed 32-bit numbers (systemd's UIDs.md). Range k (0, the
 * range every task shared before ranges were per job, to 17508) starts at USERNS_HOST_BASE + k * 65536. */
export const USERNS_POOL_END = 2 ** 31;

/**
 * The id a host id of any Tiffin range becomes in the range starting at `hostBase`: the same id inside
 * (so a file of uid 1000 in one task's range is uid 1000 in the other's); ids outside Tiffin's ranges
 * (root, real users) are left as they are. Pure.
 */
export function shiftIntoRange(id: number, hostBase: number): number {
  if (id < USERNS_HOST_BASE || id >= USERNS_POOL_END) return id;
  return hostBase + ((id - USERNS_HOST_BASE) % USERNS_RANGE_SIZE);
}

/** The default identity: nobody (65534) inside a user namespace. */
export const defaultSandboxUser: SandboxUser = { uid: 65534, gid: 65534, userns: { hostBase: USERNS_HOST_BASE, size: 65536 } };

/** What the helper knows about its attempt: the attempt status fields (declared once, in the model)
 * but the ports, which the agent allocates, with the helper's own pid (helperStatusSchema in
 * protocol-schema.ts, asserted equal). */
export type HelperStatus = Omit<AttemptStatus, "ports"> & { attemptId: string; helperPid: number };

/** Agent -> helper. */
export type AgentMessage =
  /** Liveness; `awayUntil` (epoch ms) announces an agent upgrade: do not fence before it. `seq`: the
   * latest probe the agent has seen (absent from older agents, and before the first probe). */
  | { type: "ping"; awayUntil?: number; seq?: number }
  /** Stop the task (stop signal, grace, kill) and record `reason`. `deliberate`: the server asked for
   * it (its end is "stopped", not "failed"); absent from older agents. */
  | { type: "stop"; reason: string; deliberate?: boolean }
  /** The agent has recorded the final status; a helper whose task ended may exit. */
  | { type: "ack" };

/** Helper -> agent: `status` on connect and on every change; `ping`, a probe the agent answers with a
 * ping carrying the same `seq` (older agents ignore it). */
export type HelperMessage = { type: "status"; status: HelperStatus } | { type: "ping"; seq: number };
