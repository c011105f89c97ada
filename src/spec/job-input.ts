// The documented shape of what users write, for their editor: hovers show these comments and
// `@default`s. z.input of the zod schema (input.ts) gives the same type but no field docs (a
// declaration build prints zod's inferred types without comments), so the interface is written out
// here and checked against the schema in both directions below: neither can drift from the other.
import type { z } from "zod";
import type { EveryHost, Isolation, Network, RolloutFailureAction, RolloutInconclusiveAction, RolloutPhaseSpec, SpreadDomain, TaskCount } from "../model/index.ts";
import type { RolloutChecksInput } from "./rollout-checks-input.ts";
import type { BatchInput, ScheduleInput } from "./batch-input-type.ts";
import type { httpHealthSchema, jobInputSchema, metricHealthSchema } from "./input.ts";
import type { Duration, Size } from "./units.ts";

/** Timing and outcome fields every health check shares. */
export interface HealthTiming {
  /** Time between checks ("10s", "500ms"). @default "10s" */
  every?: Duration | undefined;
  /** How long one check may take. @default "2s", or `every` when that is shorter */
  timeout?: Duration | undefined;
  /** Consecutive failures (1 to 100) before `then`. @default 3 */
  failures?: number | undefined;
  /** What to do after `failures` failures: "restart" the task where it is, or "move" it to another host. @default "restart" */
  then?: "restart" | "move" | undefined;
  /** Time after a start during which failures are not counted. @default "5s" */
  grace?: Duration | undefined;
}

/** An HTTP health check (`http({ port, path })`): GET `path` on a declared port; 2xx and 3xx are healthy. */
export interface HttpHealthSpec extends HealthTiming {
  /** The kind of check; `http()` sets it. */
  kind: "http";
  /** A port name from the job's `ports`. */
  port: string;
  /** The path to GET, starting with "/". @default "/" */
  path?: string | undefined;
}

/** A TCP health check (`tcp({ port })`): a connection to a declared port succeeds. */
export interface TcpHealthSpec extends HealthTiming {
  /** The kind of check; `tcp()` sets it. */
  kind: "tcp";
  /** A port name from the job's `ports`. */
  port: string;
}

/** A command health check (`command({ run })`), run in the task's sandbox: exit status 0 is healthy. */
export interface CommandHealthSpec extends HealthTiming {
  /** The kind of check; `command()` sets it. */
  kind: "command";
  /** The check's argv, or one string run with `/bin/sh -c`. */
  run: string | string[];
}

/**
 * A metric health check (`metric({ signal, above | below, for })`): the task's signal from its
 * `metrics` endpoint beyond a threshold for a while. Evaluated by the agent on every scrape; the
 * server then restarts or moves the task, at most the job's disruption budget of tasks at a time.
 */
export interface MetricHealthSpec {
  /** The kind of check; `metric()` sets it. */
  kind: "metric";
  /** Which signal of `metrics.signals`: "clients" (connected now), "errors" (per second) or "latency" (seconds, at `metrics.quantile`). */
  signal: "clients" | "errors" | "latency";
  /** Breached when the signal is above this (0 or more). Set exactly one of `above` and `below`. */
  above?: number | undefined;
  /** Breached when the signal is below this (0 or more): `below: 1` for "no clients". */
  below?: number | undefined;
  /** How long the breach must last, at least the scrape interval; a dip of one scrape does not end it. @default "1m", or three scrape intervals when longer */
  for?: Duration | undefined;
  /** What to do then: "restart" the task where it is, or "move" it to another host. @default "restart" */
  then?: "restart" | "move" | undefined;
  /** Time after a start during which the check is not evaluated. @default "30s" */
  grace?: Duration | undefined;
}

/** One health check of any kind. */
export type HealthCheckSpec = HttpHealthSpec | TcpHealthSpec | CommandHealthSpec | MetricHealthSpec;

/** A bind mount of a host path into a sandboxed task. */
export interface MountSpec {
  /** Absolute, normalized path on the host. */
  host: string;
  /** Absolute path the task sees (not /, /proc, /dev or /sys). */
  task: string;
  /** Read-only unless true; the agent's `--allow-mounts` must cover the host path. @default false */
  writable?: boolean | undefined;
}

/** A secret by name (`secret("db")`, or `{ secret: "db" }` in JSON and YAML): `NAME` or `default/NAME`. */
export interface SecretRef {
  secret: string;
}

/** Env and label values: numbers and booleans are written as strings. */
export type ScalarValue = string | number | boolean;

/** Everything a job spec may say. Only `name` and `command` are required; the rest has defaults. */
export interface JobSpecInput {
  /** The job's name: a DNS label (lower case letters, digits and "-", at most 63 characters), unique in its namespace. */
  name: string;
  /** The namespace the job lives in (a DNS label); `tiffin -n NS` applies a spec without one there. @default "default" */
  namespace?: string | undefined;
  /**
   * What each task runs: an argv (`["./web", "--port", "${PORT_HTTP}"]`), or one string run with
   * `/bin/sh -c`. `${TASK_INDEX}` and `${PORT_<NAME>}` are expanded per task.
   */
  command: string | string[];
  /** Environment variables of each task; numbers and booleans are written as strings; `secret("db")`
   * gives the secret's value (set with `tiffin secret set default/db`; never stored in the spec). @default {} */
  env?: Record<string, ScalarValue | SecretRef> | undefined;
  /**
   * Files written into the task's work directory before it starts: relative path -> content, or
   * `{ content, mode }` (mode "0644" by default). At most 1 MiB in all: larger files belong in a package.
   * @default {}
   */
  files?: Record<string, string | { content: string; mode?: string | number | undefined }> | undefined;
  /**
   * Secrets as files: path -> `secret("NAME")`. Each is written owner-only (0400) into `secrets/` of
   * the task's work directory, on a tmpfs where the agent can mount one, and removed when the task
   * stops: `secretFiles: { "tls.key": secret("tls-key") }` is `secrets/tls.key`. @default {}
   */
  secretFiles?: Record<string, SecretRef> | undefined;
  /**
   * How many tasks run this job (0 to 10000), or `"every-host"`: one task on each host that matches
   * `constraints` (Nomad system jobs, Kubernetes DaemonSets), for daemons and agents. One field, not a
   * separate mode, so a count and "every host" can never both be said. An every-host task belongs to
   * its host: it keeps its index there across versions, a host that registers later gets one, and a
   * host that is drained, down or removed stops its task instead of moving it. @default 1
   */
  replicas?: number | typeof EveryHost | undefined;
  /** What each task reserves on its host. */
  resources?: {
    /** Cores each task reserves, e.g. 0.5 or 2. @default 0.1 */
    cpu?: number | undefined;
    /** Memory each task reserves and may use (its cgroup limit): "256Mi", "4Gi", or a whole number of MiB. @default "128Mi" */
    memory?: Size | number | undefined;
    /** Disk each task reserves: "256Mi", "10Gi", or a whole number of MiB. @default "256Mi" */
    disk?: Size | number | undefined;
    /**
     * Let the server apply its recommendation (`tiffin recommend`) to `cpu` and `memory` itself, as a
     * new version seen in `tiffin history` (by "tiffin recommender"), within `min`..`max`, at most once
     * per `every`, and only when the change is significant. null: recommend only. @default null
     */
    adapt?: AdaptInput | null | undefined;
  } | undefined;
  /** Named ports, allocated per task and handed over as `PORT_<NAME>`: `["http"]` or `{ http: {} }`. @default [] */
  ports?: Record<string, Record<string, never>> | string[] | undefined;
  /**
   * A health check: `http({ port })`, `tcp({ port })`, `command({ run })` or `metric({ signal, above, for })`;
   * or a list of them with at most one of the first three (which also decides when a task serves) and
   * any number of metric checks; null for none. @default null
   */
  health?: HealthCheckSpec | HealthCheckSpec[] | null | undefined;
  /** Restarts of a failed task. */
  restart?: {
    /** Wait before restarting a failed task: `initial`, doubling up to `max`. @default { initial: "1s", max: "1m" } */
    backoff?: { initial?: Duration | undefined; max?: Duration | undefined } | undefined;
    /** Failed starts on one host before the task is moved to another. @default 5 */
    moveAfterFailures?: number | undefined;
  } | undefined;
  /** How tasks are stopped. */
  stop?: {
    /** The signal that asks a task to stop ("SIGTERM", "TERM" or "sigterm"). @default "SIGTERM" */
    signal?: string | undefined;
    /** Time between the signal and SIGKILL (at most "1h"). @default "10s" */
    grace?: Duration | undefined;
    /** On a planned stop (rollout, drain, scale down, job stop) of a task that serves an endpoint: the
     * time between its endpoint's removal from the registry and the signal, so clients stop sending
     * before it stops listening (Nomad's shutdown_delay, Kubernetes' preStop sleep). "0s": at once.
     * @default "2s" for a job with ports; none for a job without */
    delay?: Duration | undefined;
  } | undefined;
  /** Which hosts may run the job. */
  constraints?: {
    /** The host's OS id as in /etc/os-release ("debian"), or `{ id, version }`; null for any. @default null */
    os?: string | { id: string; version?: string | null | undefined } | null | undefined;
    /** A kernel version range the host must satisfy (">=6.1", ">=5.10 <7"); null for any. @default null */
    kernel?: string | null | undefined;
    /** Host labels that must all match (the agent's `--label`). @default {} */
    labels?: Record<string, ScalarValue> | undefined;
  } | undefined;
  /** Failure-domain level to spread the tasks across: "none" (pack), "rack", "cluster" or "datacenter". @default "rack" */
  spread?: SpreadDomain | undefined;
  /** A tag: at most one task carrying it per rack, across all jobs; null for none. @default null */
  antiAffinity?: string | null | undefined;
  /** Before a maintenance window (`tiffin maintenance add`) on its host: "move" the tasks elsewhere first, within the disruption budget; or "endure": stopped gracefully at the window's start, kept placed on the host, started again there at its end. A drain moves both. @default "move" */
  maintenance?: "move" | "endure" | undefined;
  /** An "endure" job: how long its tasks wait for their host after a maintenance window's end while the host is not back (the window overruns); then they are placed elsewhere, and `tiffin maintenance list` says so. @default "15m" */
  maintenanceOverrun?: Duration | undefined;
  /** The application's approval of disruptions (Twine's TaskControl): before a drain, a maintenance window, a rollout, a restart or a metric action disrupts a task, the server POSTs `{job, index, host, cause, window?}` to `approve` (`window`: id, scope, target, reason, start, end of a maintenance window); `{"approve": true}` lets it go, `{"approve": false, "reason": "..."}` holds it, and `tiffin drain` shows the reason. null: nothing asked. @default null */
  disruption?: {
    /** The endpoint, http:// or https://. */
    approve: string;
    /** How long an answer may take. @default "2s" */
    timeout?: Duration | undefined;
    /** No answer in time: "wait" (hold the task) or "allow" (go ahead). @default "wait" */
    onTimeout?: "wait" | "allow" | undefined;
  } | null | undefined;
  /** What tasks do when their agent loses the server. */
  disconnect?: {
    /** Stop the tasks this long after their agent loses the server ("5m", at least "1s"); null keeps them running. @default null */
    stopAfter?: Duration | null | undefined;
  } | undefined;
  /** Packages unpacked into the task's work directory: "name:version" or "name:tag" (`tiffin pkg push`). @default [] */
  packages?: string[] | undefined;
  /** "sandbox": an OCI container (namespaces, cgroup limits, read-only host files); "none": a plain process. @default "sandbox" */
  isolation?: Isolation | undefined;
  /** "host": the host's network; "private": a network namespace with loopback only (needs isolation "sandbox"). @default "host" */
  network?: Network | undefined;
  /** Host paths bound into the sandbox, at most 32 (needs isolation "sandbox"). @default [] */
  mounts?: MountSpec[] | undefined;
  /** Linux capabilities the sandboxed task keeps ("NET_BIND_SERVICE"); each must be allowed by the agent's `--allow-capabilities`. @default [] */
  capabilities?: string[] | undefined;
  /** Keep each task's private /var and /home across its attempts on the same host (needs isolation "sandbox"). @default false */
  persist?: boolean | undefined;
  /** A Prometheus endpoint the agent scrapes (`tiffin top`, `GET /v1/jobs/:name/metrics`). @default null */
  metrics?: MetricsInput | null | undefined;
  /** How a new version replaces the tasks: phase by phase, each baked healthy, within one disruption
   * budget, rolled back on failure. null: the defaults of RolloutInput. @default null */
  rollout?: RolloutInput | null | undefined;
  /** A batch job: it runs to completion once per run (`tiffin run`) instead of being kept running;
   * `replicas` is then 0 or absent. null: a service. @default null */
  batch?: BatchInput | null | undefined;
  /** A batch job's runs started by the leading server at every fire of a cron expression (needs `batch`). @default null */
  schedule?: ScheduleInput | null | undefined;
  /** Services the tasks use (Consul's upstreams, Compose's `depends_on`): a job's name, or `{ service,
   * min }`. A task starts once each has `min` endpoints serving (default 1), and reaches it through its
   * agent's local proxy at `TIFFIN_SERVICE_<NAME>` (`127.0.0.1:PORT`; the name upper-cased, `-` as
   * `_`), the current endpoints listed in the file `TIFFIN_SERVICES_FILE`. @default [] */
  uses?: (string | ServiceUseInput)[] | undefined;
  /** Named services, when a job offers several (Nomad's `service` blocks, Kubernetes' Services over
   * named ports): service name -> one of `ports`, e.g. `{ api: "http", "api-admin": "admin" }`. Each
   * has its own endpoints, DNS name (`NAME.service.tiffin`), `uses` target and proxy; service names
   * are unique across the cluster's jobs. null: one service named after the job, offering every
   * port. @default null */
  services?: Record<string, string> | null | undefined;
}

/** One `uses` entry in full. */
export interface ServiceUseInput {
  /** The service: a job's name (a job that names `ports`), or one of a job's named `services`. */
  service: string;
  /** Endpoints that must serve before a task starts (0: start at once, the proxy still follows them). @default 1 */
  min?: number | undefined;
}

/** A phase: a task count (`1`), a share of the replicas (`"10%"`), a failure-domain level (every task
 * in the racks, clusters or datacenters the rollout reached so far) or `"all"`. Phases are cumulative. */
export type RolloutPhaseInput = RolloutPhaseSpec;

/** How a new version (or `tiffin restart`) replaces a job's tasks. */
export interface RolloutInput {
  /** The phases, e.g. `[1, "10%", "cluster", "datacenter", "all"]`; each must go further than the one
   * before. @default null: chosen by the job's size and spread (a 3-task job gets `[1, "all"]`) */
  phases?: RolloutPhaseInput[] | null | undefined;
  /** How long each phase's new tasks must stay healthy, none restarted, before the next ("0s": as soon as they serve). @default "0s" */
  bake?: Duration | undefined;
  /** How long one phase may take, bake included, before it fails (at least `bake`). @default "5m" */
  deadline?: Duration | undefined;
  /** At most this many of the job's tasks down at once for a voluntary cause: a count or a share ("10%", at least one task). 0 (a PodDisruptionBudget of none): nothing may be disrupted, drains and windows wait (their report says so) until their deadline; a rollout then needs `maxSurge`. @default "10%" */
  maxUnavailable?: TaskCount | undefined;
  /** Extra tasks allowed while replacing (a count or a share, rounded down): a task's new attempt starts beside its old one, on the same host when both fit there, and the old one stops once the new one serves. @default 0 */
  maxSurge?: TaskCount | undefined;
  /** A failed phase: "rollback" every new task to the last good version, or "pause" for a human. @default "rollback" */
  onFailure?: RolloutFailureAction | undefined;
  /** Safety checks judged during each phase's bake, each with a verdict (pass, fail, inconclusive) and
   * its figures: health, crash rate, metric comparisons of new tasks against old ones of the phase's
   * failure domain, efficiency, custom checks. A fail fails the phase (then `onFailure`); inconclusive
   * waits for more evidence until the deadline (then `inconclusive`). `{}` gives every default.
   * @default absent: health and restarts only */
  checks?: RolloutChecksInput | undefined;
  /** Checks still inconclusive at the phase's deadline: "fail" (then `onFailure`), "pause" for a human, or "pass". @default "fail" */
  inconclusive?: RolloutInconclusiveAction | undefined;
}

/** Bounds of `resources.adapt`. */
export interface AdaptBoundsInput {
  /** Cores. @default null (no bound) */
  cpu?: number | null | undefined;
  /** "256Mi", "4Gi", or a whole number of MiB. @default null (no bound) */
  memory?: Size | number | null | undefined;
}

/** `resources.adapt`: automatic application of the recommender's resources. */
export interface AdaptInput {
  /** The least the server may set. @default {} */
  min?: AdaptBoundsInput | undefined;
  /** The most the server may set. @default {} */
  max?: AdaptBoundsInput | undefined;
  /** At most one adapted version per this long ("6h", "1d" is "24h"). @default "6h" */
  every?: Duration | undefined;
}

/** A task's metrics endpoint (Prometheus text format), scraped by its agent. */
export interface MetricsInput {
  /** A port name from `ports`. */
  port: string;
  /** The path to scrape, starting with "/". @default "/metrics" */
  path?: string | undefined;
  /** Time between scrapes. @default "10s" */
  interval?: Duration | undefined;
  /** How long one scrape may take. @default "5s", or `interval` when that is shorter */
  timeout?: Duration | undefined;
  /** The job's metric names for Tiffin's three signals. @default {} */
  signals?: {
    /** A gauge of connected clients. @default null */
    clients?: string | null | undefined;
    /** A counter of errors (exceptions); its rate is shown. @default null */
    errors?: string | null | undefined;
    /** A histogram or summary of reply times in seconds; `quantile` of it is shown. @default null */
    latency?: string | null | undefined;
  } | undefined;
  /** The latency quantile shown, e.g. 0.99. @default 0.99 */
  quantile?: number | undefined;
}

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Optional fields one side lacks still leave both assignable, so the keys are compared too. */
type SameKeys<A, B> = Same<keyof A, keyof B>;
type Schema = z.input<typeof jobInputSchema>;
/** Compile-time proof that the documented interface and the schema's input type are one type. */
export const jobInputMatchesSchema: [
  Same<JobSpecInput, Schema>,
  SameKeys<JobSpecInput, Schema>,
  SameKeys<NonNullable<JobSpecInput["resources"]>, NonNullable<Schema["resources"]>>,
  SameKeys<AdaptInput, NonNullable<NonNullable<Schema["resources"]>["adapt"]>>,
  SameKeys<AdaptBoundsInput, NonNullable<NonNullable<NonNullable<Schema["resources"]>["adapt"]>["min"]>>,
  SameKeys<NonNullable<JobSpecInput["constraints"]>, NonNullable<Schema["constraints"]>>,
  SameKeys<HttpHealthSpec, z.input<typeof httpHealthSchema>>,
  SameKeys<MetricHealthSpec, z.input<typeof metricHealthSchema>>,
  SameKeys<NonNullable<JobSpecInput["metrics"]>, NonNullable<Schema["metrics"]>>,
  SameKeys<NonNullable<NonNullable<JobSpecInput["metrics"]>["signals"]>, NonNullable<NonNullable<Schema["metrics"]>["signals"]>>,
  SameKeys<NonNullable<JobSpecInput["rollout"]>, NonNullable<Schema["rollout"]>>,
  SameKeys<NonNullable<JobSpecInput["batch"]>, NonNullable<Schema["batch"]>>,
  SameKeys<NonNullable<NonNullable<JobSpecInput["batch"]>["retries"]>, NonNullable<NonNullable<Schema["batch"]>["retries"]>>,
  SameKeys<NonNullable<JobSpecInput["schedule"]>, NonNullable<Schema["schedule"]>>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true];
