// The compiled job spec: what the CLI sends and the server stores. Every default is filled in, every
// duration is milliseconds and every size MiB, so nothing downstream re-reads the user's shorthand.
// Optional things are `null`, not missing, so the JSON round-trips exactly.
import type { Resources } from "./resources.ts";
import type { RolloutPolicy } from "./rollout.ts";
import type { BatchPolicy, SchedulePolicy } from "./batch.ts";

/** Failure-domain levels a job can spread its tasks across. */
export const SpreadDomains = ["none", "rack", "cluster", "datacenter"] as const;
/** A failure-domain level, or "none" to pack without spreading. */
export type SpreadDomain = (typeof SpreadDomains)[number];

/** The `replicas` value of an every-host job: one task on each host matching its constraints. */
export const EveryHost = "every-host";

/** What a health check does when it fails `failures` times in a row. */
export type HealthAction = "restart" | "move";

/** A health check run by the helper against its task. */
export type HealthCheck =
  | ({ kind: "http"; port: string; path: string } & HealthTiming)
  | ({ kind: "tcp"; port: string } & HealthTiming)
  | ({ kind: "command"; run: string[] } & HealthTiming);

/** Timing shared by every health-check kind. */
export interface HealthTiming {
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failures before `action`. */
  failures: number;
  /** Time after start during which failures are not counted. */
  graceMs: number;
  action: HealthAction;
}

/** The metric names a job maps to Tiffin's three signals (null: not mapped). */
export interface MetricSignals {
  /** A gauge: clients connected now. */
  clients: string | null;
  /** A counter of errors (exceptions): its rate per second is the signal. */
  errors: string | null;
  /** A histogram or a summary of reply times in seconds: its `quantile` is the signal. */
  latency: string | null;
}

/** Tiffin's three signals, by the names metric health checks use. */
export const MetricSignalNames = ["clients", "errors", "latency"] as const;
/** One of MetricSignalNames: clients (connected now), errors (per second), latency (seconds, at the endpoint's quantile). */
export type MetricSignalName = (typeof MetricSignalNames)[number];

/**
 * A metric health check: when the task's `signal` stays beyond `threshold` for `forMs`, its agent
 * reports it and the server takes `action`, at most the job's disruption budget of tasks at a time.
 * Evaluated on every scrape (src/model/metric-condition.ts).
 */
export interface MetricHealthCheck {
  signal: MetricSignalName;
  /** "above": a value over `threshold` breaches; "below": a value under it. */
  when: "above" | "below";
  /** In the signal's unit: clients, errors per second, seconds of latency. */
  threshold: number;
  /** How long the breach must last: every reading in it breaches (failed scrapes are no evidence either way). */
  forMs: number;
  /** Time after start during which the check is not evaluated. */
  graceMs: number;
  action: HealthAction;
}

/** A task's Prometheus (text format) endpoint, scraped by its agent. */
export interface MetricsEndpoint {
  /** A port name from `ports`. */
  port: string;
  path: string;
  intervalMs: number;
  /** How long one scrape may take; at most `intervalMs`. */
  timeoutMs: number;
  signals: MetricSignals;
  /** Which latency quantile, e.g. 0.99. */
  quantile: number;
}

/** How a task is isolated from its host: "sandbox" runs it in an OCI container (namespaces, cgroup limits,
 * its own view of the files); "none" runs it as a plain process group, as the agent's user. */
export const Isolations = ["sandbox", "none"] as const;
/** One of Isolations. */
export type Isolation = (typeof Isolations)[number];

/** A sandboxed task's network: the host's (default), or a private namespace with loopback only. */
export const Networks = ["host", "private"] as const;
/** One of Networks. */
export type Network = (typeof Networks)[number];

/** Linux capabilities a sandboxed task may ask for (`capabilities`); the agent must allow each one. */
export const Capabilities = [
  "CAP_AUDIT_CONTROL", "CAP_AUDIT_READ", "CAP_AUDIT_WRITE", "CAP_BLOCK_SUSPEND", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_KILL", "CAP_LEASE", "CAP_LINUX_IMMUTABLE", "CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE", "CAP_MKNOD", "CAP_NET_ADMIN",
  "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_RAW", "CAP_PERFMON", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
  "CAP_SETUID", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_CHROOT", "CAP_SYS_MODULE", "CAP_SYS_NICE", "CAP_SYS_PACCT",
  "CAP_SYS_PTRACE", "CAP_SYS_RAWIO", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_SYSLOG", "CAP_WAKE_ALARM",
] as const;
/** One of Capabilities. */
export type Capability = (typeof Capabilities)[number];

/** Bounds of one adapted figure: cores, MiB; null where the job sets none. */
export interface AdaptBounds {
  cpu: number | null;
  memoryMiB: number | null;
}

/** `resources.adapt`: the server applies the recommender's resources itself, as a new version, within
 * `min`..`max`, at most once per `everyMs`, and only when the change is significant. */
export interface AdaptPolicy {
  min: AdaptBounds;
  max: AdaptBounds;
  everyMs: number;
}

/** A host directory or file bound into a sandboxed task. */
export interface BindMount {
  /** Absolute path on the host. */
  host: string;
  /** Absolute path the task sees. */
  task: string;
  /** Read-only unless true; the agent's allow-list (`--allow-mounts`) must cover `host`. */
  writable: boolean;
}

/** A file written into the task's work directory before it starts. */
export interface WorkingFile {
  content: string;
  /** POSIX mode, e.g. 0o644. */
  mode: number;
}

/** The complete, canonical spec of one job version. */
export interface JobSpec {
  name: string;
  /** The job's namespace when it is not "default" (model/namespace.ts). Sent by clients only: the server
   * stores the job under its id (`NAME.NS`) and leaves this out. */
  namespace?: string;
  /** argv: the program and its arguments. `${TASK_INDEX}` and `${PORT_<NAME>}` are expanded per task. */
  command: string[];
  env: Record<string, string>;
  /** Files written into the work directory, by relative path. */
  files: Record<string, WorkingFile>;
  /** How many tasks run the job; for an every-host job (`everyHost`) 0 here, the server keeps one per matching host. */
  replicas: number;
  /** One task on every host that matches `constraints` (Nomad system jobs, Kubernetes DaemonSets):
   * the spec's `replicas: "every-host"`. Absent for a job with a count. */
  everyHost?: true;
  resources: Resources;
  constraints: {
    os: { id: string; version: string | null } | null;
    /** A version range such as ">=6.1" or ">=5.10 <7". */
    kernel: string | null;
    labels: Record<string, string>;
  };
  spread: SpreadDomain;
  /** At most one task carrying this tag per rack, across all jobs. */
  antiAffinity: string | null;
  /** Named ports, allocated by the agent and handed over as `PORT_<NAME>` (upper case). */
  ports: string[];
  restart: { backoffInitialMs: number; backoffMaxMs: number; moveAfterFailures: number };
  health: HealthCheck | null;
  /** `delayMs`: on a planned stop of a serving task, the time between its endpoint's removal and the
   * signal; absent: DefaultStopDelayMs for a job with ports, 0 without (see stopDelayOf). */
  stop: { signal: string; graceMs: number; delayMs?: number };
  maintenance: "move" | "endure";
  /** An "endure" job's wait for its host after a window's end while the host is not back (the window
   * overruns): then its tasks are placed elsewhere. Absent: DefaultMaintenanceOverrunMs. */
  maintenanceOverrunMs?: number;
  /** The application's approval of disruptions (Twine's TaskControl): the server asks `approve`
   * before a drain or maintenance move disrupts a task. Absent: no approval asked. */
  disruption?: DisruptionPolicy;
  /**
   * What tasks do when their agent loses the server. `stopAfterMs: null` keeps them running (the
   * default, so a server restart never stops the fleet); a number stops them after that long and
   * makes the job "at most one live copy": the server waits for the stop before replacing.
   */
  disconnect: { stopAfterMs: number | null };
  /** Package references (`name:version` or `name:tag`); stored now, used by the packages issue. */
  packages: string[];
  /**
   * The fields below are optional only so that specs stored before sandboxes existed still read as
   * JobSpecs; compiled specs always carry them. Read them through `isolationOf`.
   */
  /** @default "sandbox" */
  isolation?: Isolation;
  /** @default "host" */
  network?: Network;
  /** @default [] */
  mounts?: BindMount[];
  /** Capabilities beyond none (a sandboxed task runs unprivileged). Absent when none, and `persist`
   * when false, so jobs that use neither compile as they did before these existed. @default [] */
  capabilities?: Capability[];
  /** Keep each task's /var and /home across its attempts on a host. @default false */
  persist?: boolean;
  /** The task's metrics endpoint; absent when the job declares none (so older specs are unchanged). */
  metrics?: MetricsEndpoint;
  /** Metric health checks (the spec's `health` list, `metric({...})`); absent when none. They need `metrics`. */
  metricChecks?: MetricHealthCheck[];
  /** `resources.adapt` as users write it: absent when the job does not opt in (so older specs are
   * unchanged). Kept beside `resources`, not in it: `resources` is what hosts book and the scheduler
   * adds up; this is the server's policy for changing it. */
  adapt?: AdaptPolicy;
  /** Set by the server at apply, never by clients: `packages` resolved to exact package ids, so a
   * version always runs the same bytes whatever tags do later. Absent when `packages` is empty. */
  pinned?: PackagePin[];
  /** Env vars whose values are secrets: name -> `ns/name` of the secret. Absent when none. */
  secretEnv?: Record<string, string>;
  /** Secrets as files in the work directory's `secrets/`: relative path -> `ns/name`. Absent when none. */
  secretFiles?: Record<string, string>;
  /** Set by the server at apply, never by clients: each secret the spec uses -> its version then, so
   * a new value is a new job version (rolled out), and the value itself is in no spec. */
  secretVersions?: Record<string, number>;
  /** How a new version replaces the tasks (phases, bake, budget); absent when the job writes none, and
   * then DefaultRolloutPolicy applies (so older specs are unchanged). */
  rollout?: RolloutPolicy;
  /** A batch job (issue 18): it runs to completion once per run (`tiffin run`) instead of being kept
   * running; `replicas` is 0 (its tasks are its runs' items). Absent for services. */
  batch?: BatchPolicy;
  /** When the leading server starts the batch job's runs by itself (issue 18); absent: only `tiffin run`. */
  schedule?: SchedulePolicy;
  /** The services this job's tasks use (Consul's upstreams, Compose's depends_on): absent when none, so
   * older specs are unchanged. */
  uses?: ServiceUse[];
  /** Named services (Nomad's `service` blocks, Kubernetes' Services over named ports): service name
   * -> one of `ports`. Absent: one service named after the job, offering every port (servicesOf). */
  services?: Record<string, string>;
}

/** A service a job's tasks use (the spec's `uses`): they start once it has `min` endpoints serving,
 * and reach it through their agent's local proxy (`TIFFIN_SERVICE_<NAME>`). */
export interface ServiceUse {
  /** The service: a job's name (a job that names `ports`), or one of a job's named `services`. */
  service: string;
  /** Endpoints that must serve before a task of this job starts; 0 only waits for nothing. @default 1 */
  min: number;
}

/** One entry of `packages`, resolved at apply. */
export interface PackagePin {
  /** The reference as written in the spec (`name:tag` or `name:version`). */
  ref: string;
  name: string;
  version: string;
  /** sha256 of the package's manifest. */
  id: string;
}

/** The stop delay of a job with ports that writes none (`stop.delay`). */
export const DefaultStopDelayMs = 2000;

/** How long a planned stop of a serving task waits after its endpoint's removal: `stop.delayMs`, else
 * DefaultStopDelayMs for a job with ports (its tasks are endpoints), else 0. */
export function stopDelayOf(spec: { stop: { delayMs?: number | undefined }; ports?: readonly string[] | undefined }): number {
  return spec.stop.delayMs ?? ((spec.ports?.length ?? 0) > 0 ? DefaultStopDelayMs : 0);
}

/** A spec's isolation settings with the defaults filled in (older stored specs lack them). */
export function isolationOf(spec: JobSpec): { isolation: Isolation; network: Network; mounts: BindMount[]; capabilities: Capability[]; persist: boolean } {
  return {
    isolation: spec.isolation ?? "sandbox",
    network: spec.network ?? "host",
    mounts: spec.mounts ?? [],
    capabilities: spec.capabilities ?? [],
    persist: spec.persist ?? false,
  };
}

/** A stored version of a job. */
export interface JobVersion {
  name: string;
  /** In answers only, outside the default namespace (the stored version's name is the job's id). */
  namespace?: string;
  version: number;
  spec: JobSpec;
  createdAt: number;
  /** Who applied it, as the client said (`TIFFIN_USER`, else the OS user name): with one admin
   * token there is no verified identity yet, so this is a claim, not an audit. Absent on versions
   * stored before it existed. */
  by?: string | null;
  /** Why, as given with `apply -m` (and, for a revert, which version it brought back). */
  message?: string | null;
}

/** Who applied a version and why, as a client sends them with an apply or a revert. */
export interface VersionNote {
  by: string | null;
  message: string | null;
}

/** The current record of a job: which version is desired, or that it was removed. */
export interface JobRecord {
  name: string;
  version: number;
  /** Set when the job was removed: its tasks are stopped, its versions kept. */
  removedAt: number | null;
  updatedAt: number;
}

/** How the server asks a job's application before it disrupts one of its tasks: a POST of
 * `{job, index, host, cause}` to `approve`; the answer `{approve: true}` lets it go, `{approve:
 * false, reason}` holds it ("not yet"); no answer within `timeoutMs` is "wait" (hold) or "allow". */
export interface DisruptionPolicy {
  approve: string;
  timeoutMs: number;
  onTimeout: "wait" | "allow";
}
