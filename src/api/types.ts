// The HTTP API's wire types, shared by the server, the agent and the CLI's client.
// Every path is under /v1; every call carries `Authorization: Bearer <token>`:
// the admin token (DIR/admin.token) for users, the join token (DIR/join.token) for
// POST /v1/agent/register, and the per-host token that register returns for every other /v1/agent call.
//
// Users (admin token):
//   GET    /v1/jobs                              -> JobSummary[]
//   POST   /v1/jobs            {spec: JobSpec, by?, message?} -> ApplyResult (stores a new version if changed)
//   POST   /v1/jobs/:name/revert {version, by?, message?} -> ApplyResult (version's spec and pins as a new version)
//   POST   /v1/jobs/:name/scale {replicas, by?, message?} -> ApplyResult (the current spec and pins with replicas N as a new version)
//   POST   /v1/plan            {spec: JobSpec}   -> PlanResult           (dry run, writes nothing)
//   GET    /v1/jobs/:name                        -> JobStatus
//   DELETE /v1/jobs/:name                        -> {name, removed: true}
//   POST   /v1/jobs/:name/restart {index?}       -> RestartResult        (parked tasks placed afresh, live ones restarted)
//   GET    /v1/jobs/:name/rollout                -> RolloutStatus        (the latest rollout, what it waits for)
//   GET    /v1/jobs/:name/rollouts               -> Rollout[]            (the job's rollout history, oldest first)
//   POST   /v1/jobs/:name/rollout/:command       -> RolloutStatus        (pause | resume | promote | abort)
//   POST   /v1/jobs/:name/runs                   -> Run                  (start a batch run; {params, key}: a dispatch, idempotent on key)
//   GET    /v1/jobs/:name/runs                   -> Run[]                (a batch job's kept runs, oldest first)
//   GET    /v1/runs/:job/:id                     -> Run                  (each item's attempts, exit codes, times)
//   POST   /v1/runs/:job/:id/cancel              -> Run
//   GET    /v1/jobs/:name/versions               -> JobVersion[]
//   GET    /v1/jobs/:name/recommendation         -> Recommendation       (resources from usage history, with the evidence)
//   GET    /v1/recommendations                   -> Recommendation[]
//   GET    /v1/jobs/:name/versions/:v            -> JobVersion
//   GET    /v1/hosts                             -> HostView[]
//   GET    /v1/maintenance                       -> MaintenanceWindow[]
//   POST   /v1/maintenance                       -> MaintenanceWindow    ({scope, target, start, durationMs, reason, leadMs?, closeMs?})
//   POST   /v1/maintenance/:id/cancel            -> MaintenanceWindow
//   GET    /v1/hosts/:idOrName                   -> HostView             (with its drain's report: what holds each job, since when)
//   POST   /v1/hosts/:idOrName/drain             -> HostView             ({deadlineMs?, then?: wait|force|stop})
//   POST   /v1/hosts/:idOrName/decommission      -> HostView             (a drain for good; undrain refused after it, 409)
//   POST   /v1/hosts/:idOrName/undrain           -> HostView
//   DELETE /v1/hosts/:idOrName                   -> HostRemoval          (409 while the host is up or anything of it may still run)
//   GET    /v1/tasks/:job/:index/logs?stream=stdout|stderr&attempt=ID&follow=1&tail=N -> text/plain (streamed)
//   GET    /v1/watch?kinds=task,host&from=REV    -> text/event-stream of WatchEvent (typed, allow-listed kinds; ./watch-types.ts)
//   GET    /v1/openapi.json                      -> the OpenAPI 3.1 description of this API
//   GET    /v1/cluster                           -> ClusterView          (this server, the leader)
//   GET    /metrics                              -> Prometheus text
//   GET    /healthz, /readyz  (no token)         -> {status}, 200 or 503 (readyz: store and mirror ready)
//   POST   /v1/swarm/peer-token/rotate           -> PeerTokenRotation    (a new peer token for agents; the previous one stays accepted)
//   POST   /v1/packages/pieces/:sha256  (raw bytes, at most 4 MiB) -> {hash} (400 if the bytes hash to something else)
//   GET    /v1/packages/pieces/:sha256              -> application/octet-stream (also /v1/agent/packages/pieces/:sha256, host token)
//   POST   /v1/packages/missing {pieces: string[]}  -> {missing: string[]}
//   POST   /v1/packages    {manifest}                -> PackageRecord   (every piece must be uploaded; moves tag "latest")
//   GET    /v1/packages                              -> PackageSummary[] (every version of every package)
//   GET    /v1/packages/:name                        -> PackageSummary[] (history, oldest first)
//   GET    /v1/packages/manifests/:id                -> PackageRecord    (also /v1/agent/packages/manifests/:id, host token)
//   PUT    /v1/packages/:name/tags/:tag {version}    -> PackageSummary
//   DELETE /v1/packages/:name/:version               -> {name, version, removed: true} (409 while a job version pins it)
// Agents:
//   POST   /v1/agent/register  RegisterRequest   -> RegisterResponse   (join token)
//   POST   /v1/agent/heartbeat HeartbeatRequest  -> HeartbeatResponse  (host token)
//   GET    /v1/agent/assignments                 -> text/event-stream: "event: assignments" data: Assignment[]
//                                                  (the full desired set for the host, sent on every change)
//   GET    /v1/agent/endpoints?service=a,b&from=REV -> text/event-stream of endpoint WatchEvents (as /v1/watch?kinds=endpoint; host token)
//   POST   /v1/agent/attempts  AttemptReport     -> {ok: true}
//   POST   /v1/agent/swarm/announce SwarmAnnounce  -> SwarmAnnounceResponse (pieces this agent holds, and where it serves them)
//   POST   /v1/agent/swarm/plan  SwarmPlanRequest  -> SwarmPlan          (whom to fetch each missing piece from)
//   POST   /v1/agent/swarm/report SwarmReport      -> {ok: true}         (a peer sent a bad piece, or had not the piece it announced)
//   One tracker per cluster, the leader's: a follower passes these calls on to the leader (503 when it cannot).
//   Pieces travel zstd-compressed (Content-Encoding: zstd) to clients sending Accept-Encoding: zstd, when it pays.
// Agents serving peers (peer token from SwarmAnnounceResponse / SwarmPlan):
//   GET    /v1/pieces/:sha256  -> the piece (503 when the agent is at its upload limit: try the next source)
// Servers (admin token):
//   POST   /v1/internal/contacts {from, contacts} -> {ok: true}       (hosts a follower heard from, to the leader)
//   POST   /v1/internal/swarm/announce|plan|report (x-tiffin-host: hostId) -> as /v1/agent/swarm/* (a follower passing an agent's call to the leader's tracker)
// Errors: any status >= 400 carries ApiErrorBody.

import type { Attempt, AttemptState, AttemptUpdate } from "../model/task.ts";
import type { Host, HostInventory, HostStatus } from "../model/host.ts";
import type { JobSpec, MetricsEndpoint, PackagePin } from "../model/job.ts";
import type { Rollout, RolloutPhaseSpec } from "../model/rollout.ts";
import type { TaskMetrics, TaskMetricsPoint } from "../model/task-metrics.ts";
import type { Resources } from "../model/resources.ts";
import type { ErrorCode, Problem } from "../model/errors.ts";
import type { DiffLine } from "../model/diff.ts";
import type { MachineCheckResult, HostCheck, Remediation, RemediationAlert, RepairRequest, RepairResult } from "../model/machine-check.ts";
export type { RemediationAlert } from "../model/machine-check.ts";

/** The body of every error response. */
export interface ApiErrorBody {
  error: { code: ErrorCode; message: string; hint: string | null; problems: Problem[] };
}

/** One line of `tiffin jobs`. */
export interface JobSummary {
  name: string;
  /** The job's namespace (absent from servers before namespaces: "default"). */
  namespace?: string;
  version: number;
  replicas: number;
  /** Tasks with a host. */
  placed: number;
  running: number;
  healthy: number;
  removed: boolean;
}

/** One task as `tiffin status` shows it. */
export interface TaskView {
  /** `job/index` */
  id: string;
  index: number;
  version: number;
  hostId: string | null;
  hostName: string | null;
  /** "parked": the task kept failing on every host it was given and waits for an apply or
   * `tiffin restart`; `reason` says how it failed, the current attempt is its last one. */
  state: AttemptState | "unplaced" | "parked";
  attemptId: string | null;
  /** Main process id of the task on its host. */
  pid: number | null;
  ports: Record<string, number>;
  failures: number;
  reason: string | null;
  /** Unplaced because no registered host could ever run it (`reason` says why); absent from older servers. */
  neverFits?: boolean;
  /** Recent attempts, newest first (at most 10). */
  attempts: Attempt[];
}

/** One task in `GET /v1/jobs/:name/metrics`: its cgroup figures against its limits, and the latest
 * summary of its metrics endpoint (null when the job declares none or none arrived yet). */
export interface TaskMetricsView {
  index: number;
  version: number;
  hostId: string | null;
  hostName: string | null;
  state: TaskView["state"];
  attemptId: string | null;
  /** Cores used on average over the last sample, and the spec's cpu. */
  cpuCores: number | null;
  cpuLimit: number;
  memoryBytes: number | null;
  memoryLimitBytes: number;
  /** Block device bytes per second read and written over the last sample (null: not sampled yet, or
   * the kernel does not say). */
  ioReadRate: number | null;
  ioWriteRate: number | null;
  /** Attempts of the task's current version that ended (crashes, health restarts, moves), of its last 10. */
  restarts: number;
  metrics: TaskMetrics | null;
  /** The job's metric checks for this task (absent when the spec has none). */
  checks?: MetricCheckView[];
  /** The kept points, oldest first (only with `?series=1`). */
  series?: TaskMetricsPoint[];
}

/** One metric check of a task: the agent's latest verdict and what the server did once it fired. */
export interface MetricCheckView {
  /** Index in the spec's `metricChecks`. */
  check: number;
  /** "errors above 5 for 30s". */
  condition: string;
  action: "restart" | "move";
  /** unknown (no reading), ok, pending (failing since `since`), firing (fired at `at` with `value`). */
  state: "unknown" | "ok" | "pending" | "firing";
  value: number | null;
  since: number | null;
  at: number | null;
  /** A fired check's action: waiting for the budget's room, held back by it (since `heldSince`), acting; null: none. */
  taken: "waiting" | "held" | "acting" | null;
  heldSince: number | null;
}

/** `GET /v1/jobs/:name/metrics`. */
export interface JobMetricsView {
  name: string;
  /** The job's namespace (absent in "default"). */
  namespace?: string | undefined;
  version: number;
  endpoint: MetricsEndpoint | null;
  tasks: TaskMetricsView[];
}

/** `GET /v1/jobs/:name`. */
export interface JobStatus {
  name: string;
  /** The job's namespace (absent from servers before namespaces: "default"). */
  namespace?: string;
  version: number;
  removed: boolean;
  spec: JobSpec;
  tasks: TaskView[];
}

/** One line of a plan's diff (defined with the pure diff in the model). */
export type { DiffLine } from "../model/diff.ts";

/** `GET /v1/jobs/:name/versions/:v/diff`: every changed field between two versions, as specs are
 * written (`from` null: against nothing, the first version). */
export interface VersionDiff {
  name: string;
  from: number | null;
  to: number;
  diff: DiffLine[];
}

/** `POST /v1/plan`. */
export interface PlanResult {
  name: string;
  /** The job's namespace (absent from servers before namespaces: "default"). */
  namespace?: string;
  /** Version that applying would create, or the current one if nothing changed. */
  version: number;
  current: number | null;
  changed: boolean;
  diff: DiffLine[];
  /** Where each task would run after apply. */
  placements: { index: number; hostId: string; hostName: string; rack: string; moved: boolean }[];
  /** Tasks that could not be placed, with why. */
  unplaced: { index: number; reasons: Record<string, number> }[];
  /** How the spec's `packages` resolve now (absent from older servers). */
  packages?: PackagePin[];
  /** Each task slot's fate, by index: kept, started, stopped or replaced, and why (absent from older servers). */
  tasks?: PlanTask[];
  /** Set when no registered host could ever run a task of the job, even empty: why (e.g. "needs
   * 65536 MiB memory, the largest host has 8192 MiB"). Apply would wait forever. */
  neverFits?: string | null;
  /** The phases the apply's rollout would run (issue 14): each phase's rule and its tasks with their
   * hosts and racks. Empty when no running task is replaced; absent from older servers. */
  rollout?: { spec: RolloutPhaseSpec; tasks: { index: number; hostName: string | null; domain: string | null }[] }[];
}

/** `POST /v1/jobs/:name/restart {index?}`: what each task got ("unparked": placed afresh after
 * parking; "restarted": its live attempt stopped, a new one starts on the same host). Tasks with
 * nothing to restart (unplaced, already stopping) are not listed. */
export interface RestartResult {
  name: string;
  tasks: { index: number; action: "unparked" | "restarted" }[];
}

/** A job's latest rollout as `tiffin rollout status` shows it: the record, with what the server
 * works out of it now. `rollout` null: the job never rolled out (no version replaced another). */
export interface RolloutStatus {
  name: string;
  /** The rollout's number in the job's history (0 when none). */
  n: number;
  rollout: Rollout | null;
  /** Tasks that run the rollout's version (or, for a restart, restarted since it began). */
  tasksDone: number;
  tasksTotal: number;
  /** Time in the current phase, ms (null when the rollout ended). */
  inPhaseMs: number | null;
  /** What the rollout waits for now, in words (null when it ended). */
  waitingFor: string | null;
}

/** What applying a plan does to one task slot. */
export const PlanActions = ["keep", "start", "stop", "replace"] as const;
/** One of PlanActions. */
export type PlanAction = (typeof PlanActions)[number];

/** One task slot in a plan. */
export interface PlanTask {
  index: number;
  action: PlanAction;
  /** Why, in words: "replicas 3 -> 4", "env, command changed", "unchanged". */
  reason: string;
  /** Host id the task is on now (null: not placed or new). */
  hostBefore: string | null;
  /** Host id it would be on after apply (null: stopped, or no host fits). */
  hostAfter: string | null;
}

/** One registered package version (declared with its schema in the model). */
export type { PackageRecord } from "../model/records.ts";

/** A package version as listed by `tiffin pkg ls`/`history`. */
export interface PackageSummary {
  name: string;
  version: string;
  id: string;
  totalSize: number;
  pieces: number;
  registeredAt: number;
  /** Tags pointing at this version. */
  tags: string[];
  /** Job versions (`job@v`) that pin it. */
  pinnedBy: string[];
}

/** `POST /v1/jobs`. */
export interface ApplyResult {
  name: string;
  /** The job's namespace (absent from servers before namespaces: "default"). */
  namespace?: string;
  version: number;
  changed: boolean;
  /** Store revision of the write; watch from here to follow progress. */
  revision: number;
}

/** A host with its liveness and load, for `tiffin hosts`. */
export interface HostView extends Host {
  status: HostStatus;
  lastHeartbeatAt: number | null;
  tasks: number;
  /** Of those, how many run an attempt that fails its health check now (the dashboard's "failing"). */
  unhealthy: number;
  /** Booked by the host's tasks; memory includes each task's overhead (its helper, model TaskOverheadMiB). */
  used: Resources;
  /** Its machine checks that fail now (absent: none, or an older server). */
  failingChecks?: MachineCheckResult[];
}

/** `GET /v1/hosts/:idOrName/checks`: each machine check of a host with its history (status changes, newest last). */
export interface HostChecksView {
  id: string;
  name: string;
  checks: HostCheck[];
}

/** `GET /v1/remediations`: every remediation record (newest first), the budget alert (null while none) and
 * the limits in force. */
export interface RemediationsView {
  remediations: Remediation[];
  alert: RemediationAlert | null;
  budget: { maxHosts: number; maxDomainPct: number; rateCount: number; ratePerMs: number };
  rules: number;
}

/** `POST /v1/agent/register`. An agent re-registering with the same name gets the same host id, and
 * must prove it is that host: a name already registered needs its host token (409 without one, 401
 * with a wrong one); re-provisioning a machine is `DELETE /v1/hosts/:name` first. */
export interface RegisterRequest {
  inventory: HostInventory;
  /** The host token an earlier registration returned (the agent keeps it in DIR/agent.json). */
  hostToken?: string;
  /** Without a saved identity: the token the agent asks to be given (256 random bits, base64url), kept
   * on its disk before it asks. A retry whose first answer was lost (a timeout, a dropped connection)
   * then proves it is the agent that registered the name, instead of getting 409. */
  proposedToken?: string;
}

/** `DELETE /v1/hosts/:idOrName`: the host record and its token are gone; the name may register anew. */
export interface HostRemoval {
  id: string;
  name: string;
  removed: true;
}

/** The answer to register: identity and timing the agent must follow. */
export interface RegisterResponse {
  hostId: string;
  /** Bearer token for the agent's later calls. */
  hostToken: string;
  heartbeatMs: number;
  /** Host is down after this long without a heartbeat. */
  downAfterMs: number;
  /** Helpers stop their task when their agent is gone this long (shorter than downAfterMs). */
  fenceMs: number;
}

/** `POST /v1/agent/heartbeat`. `upgradeMs` announces a planned absence (agent upgrade): neither the
 * server nor the helpers act on missing heartbeats for that long. */
export interface HeartbeatRequest {
  hostId: string;
  upgradeMs?: number;
  /** Machine checks whose status changed since the server last took them (at most MaxChecksPerHost). */
  checks?: MachineCheckResult[];
  /** `checks` is every check the agent runs (sent after a registration): the server forgets the others. */
  checksComplete?: boolean;
  /** How the repair the server asked for ended. */
  repairResult?: RepairResult;
}

/** The answer to a heartbeat. `reregister` tells an agent the server no longer knows it. */
export interface HeartbeatResponse {
  ok: boolean;
  reregister: boolean;
  /** The interval the agent should heartbeat at from now on (it grows with the fleet; see
   * maxHeartbeatsPerSecond in src/server/liveness.ts). Absent when the host must re-register. */
  heartbeatMs?: number;
  /** The server's clock (epoch ms) when it answered: the agent's clock check measures skew from it. */
  serverTime?: number;
  /** A repair command remediation asks this host's agent to run (again in every answer until its result comes). */
  repair?: RepairRequest;
  /** Under TLS: the CA that signs host certificates now and every trusted CA (hashes). An agent whose
   * certificate or trust differs renews at once (a CA rotation; src/server/tls/rotation.ts). */
  ca?: { signing: string; trust: string[] };
}

/** One attempt the server wants on a host, with the spec to run. */
export interface Assignment {
  attempt: Attempt;
  spec: JobSpec;
  /** The values (base64) of the secrets the spec uses, by `ns/name`: only in this host's assignments,
   * never stored with the attempt or the spec. Absent when it uses none. */
  secrets?: Record<string, string>;
}

/** A state change of attempts, reported by the agent. */
export interface AttemptReport {
  hostId: string;
  updates: AttemptUpdate[];
}

/** What the agent knows about one attempt (declared with its schema in the model). */
export type { AttemptUpdate } from "../model/task.ts";

/** One server of the control plane. */
export interface ServerView {
  /** Stable id (the server's DIR/server.id). */
  id: string;
  /** Where it is reached (its advertised URL). */
  url: string;
}

/** `GET /v1/cluster`: the server that answered and the leader it knows of. */
export interface ClusterView {
  /** `terms`: this server's last leadership terms, oldest first, in epoch ms of its own clock (`end`
   * null while it leads): when it began acting as leader and when it stopped. */
  self: ServerView & { leader: boolean; terms: { start: number; end: number | null }[] };
  /** The server running the reconcilers, or null during an election. */
  leader: (ServerView & { since: number }) | null;
  /** The store revision this server's mirror has reached. */
  revision: number;
  /** The Tiffin release this server runs (`tiffin version`). */
  version: string;
  /** The remediation budget alert, while one is raised (machine checks failing beyond the budget). */
  remediationAlert?: RemediationAlert;
}

/** `POST /v1/tasks/:job/:index/exec` (and the agent's `POST /v1/exec/:attemptId`): a command to run in
 * the task's sandbox, without a terminal or stdin. With stdin and a terminal: the same path upgraded
 * (`./exec-wire.ts`). */
export interface ExecRequest {
  /** argv; the program is looked up in the sandbox's PATH. */
  command: string[];
  /** Who asks, as the client says (recorded in the audit log; the admin token is what authorizes). */
  user?: string;
}

/**
 * One line of an exec's response (`application/x-ndjson`): output as it comes (base64, so binary
 * output survives), then exactly one `exit` or `error` line last.
 */
export type ExecFrame =
  | { type: "stdout" | "stderr"; data: string }
  | { type: "exit"; code: number | null; signal: string | null }
  | { type: "error"; message: string };

/** One entry of the server's audit log (declared with its schema in the model). */
export type { AuditEntry, CallAuditEntry, ExecAuditEntry } from "../model/records.ts";
export type { ApiTokenView, Grant, TokenCreate, TokenCreated, Whoami } from "../model/index.ts";
export type { SecretView } from "../model/index.ts";

/** What an agent holds of one package: every piece, or the indexes (into `piecesOf(manifest)`) it has. */
export interface SwarmHolding {
  id: string;
  complete: boolean;
  /** Ignored when `complete`. */
  pieces: number[];
}

/** `POST /v1/agent/swarm/announce`. `full` replaces everything the tracker knew this agent holds
 * (sent at start, periodically, and whenever the tracker's epoch changed); otherwise it adds. */
export interface SwarmAnnounce {
  /** host:port where this agent serves pieces to peers. */
  address: string;
  full: boolean;
  packages: SwarmHolding[];
}

/** The tracker's answer to an announce. */
export interface SwarmAnnounceResponse {
  /** Changes when the tracker's memory was lost (server restart, another server): announce in full again. */
  epoch: string;
  /** Bearer token agents require of each other for GET /v1/pieces (cluster-wide): the one to fetch
   * with, `peerTokens[0]`. */
  peerToken: string;
  /** Every peer token in force, the one to fetch with first: agents serve pieces to callers bearing any
   * of them (the previous one stays valid for a rotation period). Absent from older servers. */
  peerTokens?: string[];
  /** How often to announce in full (the tracker forgets agents silent for a few times this). */
  announceMs: number;
}

/** `POST /v1/agent/swarm/plan`: a fetching agent asks whom to fetch from. Also an announce: the agent
 * holds every index below `total` that is not in `missing`. */
export interface SwarmPlanRequest {
  packageId: string;
  address: string;
  /** Number of distinct pieces of the package. */
  total: number;
  /** Indexes not yet verified and stored, in flight ones included. */
  missing: number[];
  /** Indexes being fetched now (not planned again; their origin leases are extended). */
  inflight: number[];
  /** Indexes the fetcher could not get from the peers it was sent to, several times over: it asks
   * for the origin (granted within the package's origin budget). */
  fallback?: number[];
  /** Of those, the ones it has failed with for long (about 10 s): granted whatever the budget. */
  stuck?: number[];
}

/** Where to fetch a piece from: a peer agent, or the origin (this server). */
export type SwarmSource = { kind: "peer"; host: string; address: string } | { kind: "origin" };

/** The tracker's plan: pieces in the order to fetch them (rarest first), each with sources to try in order. */
export interface SwarmPlan extends SwarmAnnounceResponse {
  pieces: { index: number; sources: SwarmSource[] }[];
  /** Missing pieces left out of this plan (another agent is fetching them from the origin, or the
   * limits were reached); ask again after `retryMs` or when a piece completes. */
  waiting: number;
  retryMs: number;
}

/** `POST /v1/agent/swarm/report`: `peer` (a host id) sent bytes for `piece` that did not hash to it
 * (`kind` "bad-piece", the default), or answered 404 for a piece the tracker said it holds ("missing"). */
export interface SwarmReport {
  packageId: string;
  peer: string;
  piece: string;
  reason: string;
  /** @default "bad-piece" */
  kind?: "bad-piece" | "missing";
  /** The piece's index in the package (required with "missing"). */
  index?: number;
}

/** `POST /v1/swarm/peer-token/rotate`: the peer tokens after the rotation. */
export interface PeerTokenRotation {
  /** Epoch ms of the rotation. */
  rotatedAt: number;
  /** Peer tokens agents accept now (the new one and the previous one). */
  accepted: number;
}
