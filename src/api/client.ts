// The typed client of the server's HTTP API (see ./types.ts for the endpoints). The CLI reaches the
// server only through this class; agents may use its agent methods too. Browser-safe: nothing here
// imports `node:` (the exec session, an HTTP upgrade, is in ./node-client.ts).
//
// Several servers (`addr: "a:7070,b:7070,c:7070"`): a call goes to the server that answered last, and
// moves on to the next one when a server cannot be reached, does not answer in time, or answers 503/504
// (it cannot reach the store). Every endpoint is idempotent (apply of the same spec, drain, reports,
// register...), so sending a call again to another server after an ambiguous failure is safe.

import type { CaFinished, CaRotated, CaStatus, CaTrust } from "./ca-wire.ts";
import type { JobVersion, JobSpec, VersionNote } from "../model/job.ts";
import type { Recommendation } from "../model/recommendation.ts";
import type { UsageSample } from "../model/records.ts";
import type { Endpoint, ServiceSummary } from "../model/endpoint.ts";
import { ErrorCodes, TiffinError } from "../model/errors.ts";
import type { DrainThen } from "../model/host.ts";
import type { MaintenanceWindow } from "../model/maintenance.ts";
import type { ApplyResult, AuditEntry, ClusterView, ExecFrame, ExecRequest, HostRemoval, HostView, JobMetricsView, JobStatus, JobSummary, PackageRecord, PackageSummary, PeerTokenRotation, PlanResult, RestartResult, RolloutStatus, VersionDiff } from "./types.ts";
import type { ApiTokenView, TokenCreate, TokenCreated, Whoami } from "../model/token.ts";
import type { Rollout } from "../model/rollout.ts";
import type { SecretView } from "../model/secret.ts";
import type { HostChecksView, RemediationsView } from "./types.ts";
import type { Run } from "../model/batch.ts";
import type { SwarmFetches } from "./swarm-fetches.ts";
import { WatchExpiredError } from "./watch-types.ts";
import type { WatchExpired, WatchMessage } from "./watch-types.ts";
import { nextRetryMs, pause, watchFrameOf } from "./watch-read.ts";
import type { WatchOptions } from "./watch-read.ts";
import { parseSse } from "./sse.ts";
import { checkExecFrame } from "./exec-wire.ts";
import { failedServer, networkError, responseError, serverFailed } from "./http-errors.ts";
import type { z } from "zod";
import { answerSchemas } from "./answer-schemas.ts";
import { checkAnswer } from "./agent-wire.ts";

/** How to reach a server. */
export interface ApiClientOptions {
  /** `http://host:port` or `host:port` (http is assumed); several servers comma-separated. */
  addr: string;
  /** Bearer token: the admin token for users, a join or host token for agents. */
  token: string | null;
  /**
   * Milliseconds a call may take; for streams, until the response headers arrive.
   * @default 10000
   */
  timeoutMs?: number;
  /** The fetch to use (tests). @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * The namespace job calls act in (`tiffin -n NS`), sent as `?namespace=` on every namespaced route;
   * `*` lists every namespace the token may read. @default "default" (nothing is sent)
   */
  namespace?: string;
}

/** The paths of the namespaced routes (the server's http/namespaces.ts resolves `?namespace=` on them). */
const namespacedPath = /^\/v1\/(?:jobs|plan|tasks\/|runs\/|services|recommendations|prometheus\/sd|watch|secrets(?:\?|$))/;

/** `path` with `namespace=ns` added when the route is namespaced and `ns` is not the default. */
export function withNamespace(path: string, ns: string | undefined): string {
  if (ns === undefined || ns === "default" || !namespacedPath.test(path)) return path;
  return `${path}${path.includes("?") ? "&" : "?"}namespace=${encodeURIComponent(ns)}`;
}

/** Options of `logs`. */
export interface LogsOptions {
  stream?: "stdout" | "stderr";
  attempt?: string;
  follow?: boolean;
  tail?: number;
  /** Epoch ms: only lines written at or after it (to 0.1 s: the log segments keep a time index). */
  since?: number;
  /** Only lines matching this regular expression (filtered by the agent). */
  grep?: string;
  /** Every attempt of the task, oldest first, each after a `==> attempt ID ... <==` line. */
  allAttempts?: boolean;
  signal?: AbortSignal;
}

/** A typed method per endpoint of the API; failures reject with `TiffinError`. */
export class ApiClient {
  /** Every server's base URL, normalized (`http://host:port`, no trailing slash). */
  readonly addrs: readonly string[];
  #current = 0;
  readonly #token: string | null;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  /** The namespace job calls act in (ApiClientOptions.namespace). */
  readonly namespace: string;
  readonly #opts: ApiClientOptions;

  constructor(opts: ApiClientOptions) {
    this.#opts = opts;
    this.addrs = splitAddrs(opts.addr);
    this.namespace = opts.namespace ?? "default";
    this.#token = opts.token;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#fetch = opts.fetch ?? globalThis.fetch;
  }

  /** The same server and token, acting in namespace `ns` (a spec that names its namespace). */
  inNamespace(ns: string): ApiClient {
    if (ns === this.namespace) return this;
    const c = this.clientWith({ ...this.#opts, namespace: ns });
    c.#current = this.#current;
    return c;
  }
  /** A client of this class with `opts` (a subclass makes one of its own). */
  protected clientWith(opts: ApiClientOptions): ApiClient {
    return new ApiClient(opts);
  }

  /** The base URL of the server calls go to now (the one that answered last). */
  get addr(): string {
    return this.addrs[this.#current] ?? "";
  }

  /** For node-only calls beside this class (./node-client.ts): the server index calls start at, the
   * token, the timeout, and moving to the server that answered. */
  protected get currentIndex(): number {
    return this.#current;
  }
  protected get token(): string | null {
    return this.#token;
  }
  protected get timeoutMs(): number {
    return this.#timeoutMs;
  }
  protected answeredBy(index: number): void {
    this.#current = index;
  }

  /** `GET /v1/jobs`. */
  jobs(): Promise<JobSummary[]> {
    return this.#json(answerSchemas.jobs, "GET", "/v1/jobs");
  }
  /** `POST /v1/jobs`: stores a new version of the job if its spec changed. */
  apply(spec: JobSpec, note: Partial<VersionNote> = {}): Promise<ApplyResult> {
    return this.#json(answerSchemas.apply, "POST", "/v1/jobs", { spec, ...note });
  }
  /** `POST /v1/plan`: what applying would change and where tasks would run; writes nothing. */
  plan(spec: JobSpec): Promise<PlanResult> {
    return this.#json(answerSchemas.plan, "POST", "/v1/plan", { spec });
  }
  /** `GET /v1/jobs/:name`. */
  job(name: string): Promise<JobStatus> {
    return this.#json(answerSchemas.job, "GET", `/v1/jobs/${enc(name)}`);
  }
  /** `GET /v1/jobs/:name/metrics`: each task's CPU and memory against its limits and its metrics summary. */
  jobMetrics(name: string): Promise<JobMetricsView> {
    return this.#json(answerSchemas.jobMetrics, "GET", `/v1/jobs/${enc(name)}/metrics`);
  }
  /** `GET /v1/jobs/:name/recommendation`: recommended resources from usage history, with the evidence. */
  recommendation(name: string): Promise<Recommendation> {
    return this.#json(answerSchemas.recommendation, "GET", `/v1/jobs/${enc(name)}/recommendation`);
  }
  /** `GET /v1/services`: every service and how many serving endpoints it has. */
  services(): Promise<ServiceSummary[]> {
    return this.#json(answerSchemas.services, "GET", "/v1/services");
  }
  /** `GET /v1/services/:name/endpoints`: a service's serving endpoints now (404 for no such service). */
  endpoints(service: string): Promise<Endpoint[]> {
    return this.#json(answerSchemas.endpoints, "GET", `/v1/services/${enc(service)}/endpoints`);
  }
  /** `GET /v1/recommendations`: every job's recommendation. */
  recommendations(): Promise<Recommendation[]> {
    return this.#json(answerSchemas.recommendations, "GET", "/v1/recommendations");
  }
  /** `DELETE /v1/jobs/:name`: stops the job's tasks, keeps its versions. */
  removeJob(name: string): Promise<{ name: string; removed: true }> {
    return this.#json(answerSchemas.removeJob, "DELETE", `/v1/jobs/${enc(name)}`);
  }
  /** `POST /v1/jobs/:name/restart`: releases parked tasks and restarts live ones (one task with `index`). */
  restart(name: string, index: number | null): Promise<RestartResult> {
    return this.#json(answerSchemas.restart, "POST", `/v1/jobs/${enc(name)}/restart`, index === null ? {} : { index });
  }
  /** `GET /v1/jobs/:name/rollout`: the job's latest rollout and what it waits for. */
  rolloutStatus(name: string): Promise<RolloutStatus> {
    return this.#json(answerSchemas.rolloutStatus, "GET", `/v1/jobs/${enc(name)}/rollout`);
  }
  /** `GET /v1/jobs/:name/rollouts`: the job's rollouts, oldest first, each with its phases' verdicts. */
  rollouts(name: string): Promise<Rollout[]> {
    return this.#json(answerSchemas.rollouts, "GET", `/v1/jobs/${enc(name)}/rollouts`);
  }
  /** `POST /v1/jobs/:name/runs`: starts a run of a batch job; with `key`, at most one run per key (a
   * second call answers the first run). `params` reach the tasks as TIFFIN_PARAM_<NAME>. */
  startRun(name: string, opts: { params?: Record<string, string>; key?: string } = {}): Promise<Run> {
    return this.#json(answerSchemas.run, "POST", `/v1/jobs/${enc(name)}/runs`, opts);
  }
  /** `GET /v1/jobs/:name/runs`: a batch job's kept runs, oldest first. */
  runs(name: string): Promise<Run[]> {
    return this.#json(answerSchemas.runs, "GET", `/v1/jobs/${enc(name)}/runs`);
  }
  /** `GET /v1/runs/:job/:id`: one run, each item with its attempts. */
  run(job: string, id: string): Promise<Run> {
    return this.#json(answerSchemas.run, "GET", `/v1/runs/${enc(job)}/${enc(id)}`);
  }
  /** `POST /v1/runs/:job/:id/cancel`: cancels a run (running items are stopped). */
  cancelRun(job: string, id: string): Promise<Run> {
    return this.#json(answerSchemas.run, "POST", `/v1/runs/${enc(job)}/${enc(id)}/cancel`, {});
  }
  /** `POST /v1/jobs/:name/rollout/:command`: pause, resume, promote (skip the bake) or abort (roll back now). */
  rolloutCommand(name: string, command: "pause" | "resume" | "promote" | "abort"): Promise<RolloutStatus> {
    return this.#json(answerSchemas.rolloutStatus, "POST", `/v1/jobs/${enc(name)}/rollout/${command}`, {});
  }
  /** `POST /v1/jobs/:name/revert`: stores version `version`'s spec (its package pins too) as a new version. */
  revert(name: string, version: number, note: Partial<VersionNote> = {}): Promise<ApplyResult> {
    return this.#json(answerSchemas.apply, "POST", `/v1/jobs/${enc(name)}/revert`, { version, ...note });
  }
  /** `POST /v1/jobs/:name/scale`: stores the current spec (and package pins) with `replicas` as a new version. */
  scale(name: string, replicas: number, note: Partial<VersionNote> = {}): Promise<ApplyResult> {
    return this.#json(answerSchemas.apply, "POST", `/v1/jobs/${enc(name)}/scale`, { replicas, ...note });
  }
  /** `GET /v1/jobs/:name/versions`. */
  versions(name: string): Promise<JobVersion[]> {
    return this.#json(answerSchemas.versions, "GET", `/v1/jobs/${enc(name)}/versions`);
  }
  /** `GET /v1/jobs/:name/versions/:v`. */
  version(name: string, version: number): Promise<JobVersion> {
    return this.#json(answerSchemas.version, "GET", `/v1/jobs/${enc(name)}/versions/${version}`);
  }
  /** `GET /v1/jobs/:name/versions/:v/diff`: what changed from `from` (default: the version before) to `to`. */
  versionDiff(name: string, to: number, from: number | null = null): Promise<VersionDiff> {
    return this.#json(answerSchemas.versionDiff, "GET", `/v1/jobs/${enc(name)}/versions/${to}/diff${from !== null ? `?from=${from}` : ""}`);
  }
  /** `GET /v1/tasks/:job/:index/usage`: the task's per-minute resource samples, oldest first. */
  usage(job: string, index: number): Promise<UsageSample[]> {
    return this.#json(answerSchemas.usage, "GET", `/v1/tasks/${enc(job)}/${index}/usage`);
  }
  /** `GET /v1/hosts`. */
  hosts(): Promise<HostView[]> {
    return this.#json(answerSchemas.hosts, "GET", "/v1/hosts");
  }
  /** `POST /v1/hosts/:idOrName/drain {deadlineMs?, then?}`. */
  drain(idOrName: string, opts: { deadlineMs?: number | null; then?: DrainThen } = {}): Promise<HostView> {
    return this.#json(answerSchemas.host, "POST", `/v1/hosts/${enc(idOrName)}/drain`, opts);
  }
  /** `GET /v1/maintenance`: every maintenance window. */
  maintenanceList(): Promise<MaintenanceWindow[]> {
    return this.#json(answerSchemas.maintenanceList, "GET", "/v1/maintenance");
  }
  /** `POST /v1/maintenance`: plans a window. */
  addMaintenance(w: Pick<MaintenanceWindow, "scope" | "target" | "start" | "durationMs" | "reason"> & { leadMs?: number | null; closeMs?: number | null }): Promise<MaintenanceWindow> {
    return this.#json(answerSchemas.maintenance, "POST", "/v1/maintenance", w);
  }
  /** `POST /v1/maintenance/:id/cancel`. */
  cancelMaintenance(id: string): Promise<MaintenanceWindow> {
    return this.#json(answerSchemas.maintenance, "POST", `/v1/maintenance/${enc(id)}/cancel`, {});
  }
  /** `POST /v1/hosts/:idOrName/decommission {deadlineMs?, then?}`: a drain for good. */
  decommission(idOrName: string, opts: { deadlineMs?: number | null; then?: DrainThen } = {}): Promise<HostView> {
    return this.#json(answerSchemas.host, "POST", `/v1/hosts/${enc(idOrName)}/decommission`, opts);
  }
  /** `GET /v1/hosts/:idOrName`: one host, with its drain's report. */
  host(idOrName: string): Promise<HostView> {
    return this.#json(answerSchemas.host, "GET", `/v1/hosts/${enc(idOrName)}`);
  }
  /** `POST /v1/hosts/:idOrName/undrain`. */
  undrain(idOrName: string): Promise<HostView> {
    return this.#json(answerSchemas.host, "POST", `/v1/hosts/${enc(idOrName)}/undrain`);
  }
  /** `GET /v1/hosts/:idOrName/checks`: each machine check of the host with its history. */
  hostChecks(idOrName: string): Promise<HostChecksView> {
    return this.#json(answerSchemas.hostChecks, "GET", `/v1/hosts/${enc(idOrName)}/checks`);
  }
  /** `GET /v1/remediations`: the remediation records (newest first), the budget alert and the budget. */
  remediations(): Promise<RemediationsView> {
    return this.#json(answerSchemas.remediations, "GET", "/v1/remediations");
  }
  /** `DELETE /v1/hosts/:idOrName`: removes a down host's record (re-provisioning the machine). */
  removeHost(idOrName: string): Promise<HostRemoval> {
    return this.#json(answerSchemas.removeHost, "DELETE", `/v1/hosts/${enc(idOrName)}`);
  }
  /** `POST /v1/swarm/peer-token/rotate`: a new peer token for agents (the previous one stays accepted). */
  rotatePeerToken(): Promise<PeerTokenRotation> {
    return this.#json(answerSchemas.rotatePeerToken, "POST", "/v1/swarm/peer-token/rotate");
  }
  /** `GET /v1/swarm/fetches`: package fetches in flight, per package and host (the swarm tracker's view). */
  swarmFetches(): Promise<SwarmFetches> {
    return this.#json(answerSchemas.swarmFetches, "GET", "/v1/swarm/fetches");
  }
  /** `GET /v1/cluster`: the server that answers and the leader it knows of. */
  cluster(): Promise<ClusterView> {
    return this.#json(answerSchemas.cluster, "GET", "/v1/cluster");
  }
  /** `GET /metrics`: Prometheus text. */
  async metrics(): Promise<string> {
    const res = await this.#request("GET", "/metrics", undefined, null);
    return res.text();
  }

  /** `GET /v1/tasks/:job/:index/logs`: the log text in chunks as they arrive (until the end, or forever with `follow`). */
  async *logs(job: string, index: number, opts: LogsOptions = {}): AsyncGenerator<string> {
    const q = new URLSearchParams();
    if (opts.stream) q.set("stream", opts.stream);
    if (opts.attempt) q.set("attempt", opts.attempt);
    if (opts.follow) q.set("follow", "1");
    if (opts.tail !== undefined) q.set("tail", String(opts.tail));
    if (opts.since !== undefined) q.set("since", String(opts.since));
    if (opts.grep !== undefined) q.set("grep", opts.grep);
    if (opts.allAttempts) q.set("all", "1");
    const qs = q.size > 0 ? `?${q.toString()}` : "";
    const res = await this.#request("GET", `/v1/tasks/${enc(job)}/${index}/logs${qs}`, undefined, opts.signal ?? null);
    yield* textChunks(res, this.addr);
  }

  /** `POST /v1/tasks/:job/:index/exec`: runs `command` in the task's sandbox; its output frames as they come, the exit status last. */
  async *exec(job: string, index: number, req: ExecRequest, opts: { signal?: AbortSignal } = {}): AsyncGenerator<ExecFrame> {
    const res = await this.#request("POST", `/v1/tasks/${enc(job)}/${index}/exec`, req, opts.signal ?? null);
    let pending = "";
    for await (const text of textChunks(res, this.addr)) {
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (line.trim() === "") continue;
        const f = checkExecFrame(line);
        if (!f.ok) {
          throw new TiffinError(ErrorCodes.BadAnswer, `the exec from ${this.addr} sent a line that is not an output frame (${f.why}): ${line.slice(0, 200)}`, {
            hint: "is the server of another Tiffin version than this client? Compare `tiffin version` with the server's",
          });
        }
        yield f.frame;
      }
    }
  }
  /** `GET /v1/audit`: the newest audit entries (at or after `since`, epoch ms), oldest first. */
  audit(limit = 100, since: number | null = null): Promise<AuditEntry[]> {
    return this.#json(answerSchemas.audit, "GET", `/v1/audit?limit=${limit}${since === null ? "" : `&since=${since}`}`);
  }
  /** `POST /v1/tokens`: a new token; its secret is in the answer only. */
  createToken(body: TokenCreate): Promise<TokenCreated> {
    return this.#json(answerSchemas.tokenCreated, "POST", "/v1/tokens", body);
  }
  /** `GET /v1/tokens`: every token (never a secret or its digest). */
  tokens(): Promise<ApiTokenView[]> {
    return this.#json(answerSchemas.tokens, "GET", "/v1/tokens");
  }
  /** `DELETE /v1/tokens/:id`: revokes a token on every server. */
  revokeToken(id: string): Promise<ApiTokenView> {
    return this.#json(answerSchemas.token, "DELETE", `/v1/tokens/${enc(id)}`);
  }
  /** `PUT /v1/secrets/:ns/:name`: sets a secret's value (its next version); the answer never has it. */
  setSecret(ns: string, name: string, value: Uint8Array): Promise<SecretView> {
    return this.#json(answerSchemas.secret, "PUT", `/v1/secrets/${enc(ns)}/${enc(name)}`, { valueBase64: toBase64(value) });
  }
  /** `GET /v1/secrets`: every secret's name, version and dates (never a value). */
  secrets(): Promise<SecretView[]> {
    return this.#json(answerSchemas.secrets, "GET", "/v1/secrets");
  }
  /** `DELETE /v1/secrets/:ns/:name`: removes a secret. */
  removeSecret(ns: string, name: string): Promise<SecretView> {
    return this.#json(answerSchemas.secret, "DELETE", `/v1/secrets/${enc(ns)}/${enc(name)}`);
  }
  /** `GET /v1/ca`: the cluster CAs, their roles and hosts (admin). */
  caStatus(): Promise<CaStatus> {
    return this.#json(answerSchemas.caStatus, "GET", "/v1/ca");
  }

  /** `GET /v1/ca/trust`: the CAs a client should trust now. */
  caTrust(): Promise<CaTrust> {
    return this.#json(answerSchemas.caTrust, "GET", "/v1/ca/trust");
  }

  /** `POST /v1/ca/rotate`: starts a CA rotation, to `ca` or to a CA the server makes. */
  caRotate(ca: { certPem: string; keyPem: string } | null): Promise<CaRotated> {
    return this.#json(answerSchemas.caRotated, "POST", "/v1/ca/rotate", ca ?? {});
  }

  /** `POST /v1/ca/finish`: finishes a CA rotation (`force`: past hosts that have not moved). */
  caFinish(force: boolean): Promise<CaFinished> {
    return this.#json(answerSchemas.caFinished, "POST", "/v1/ca/finish", force ? { force } : {});
  }

  /** `GET /v1/whoami`: the calling token and its policy. */
  whoami(): Promise<Whoami> {
    return this.#json(answerSchemas.whoami, "GET", "/v1/whoami");
  }

  /**
   * `GET /v1/watch`: typed changes of the kinds asked (./watch-types.ts). Without `from`, the current
   * objects come first ("added"), then a bookmark, then changes as they happen. A dropped connection
   * or a server that stops is resumed from the last revision received, on the next server that
   * answers (pauses doubling from 250 ms); a revision the store compacted is listed again after a
   * "reset" (or throws WatchExpiredError with `relist: false`). A connection that broke inside a
   * revision resumes from that revision, and the events of it already yielded are skipped (the server
   * sends a revision's events in one order), so each change comes once. Ends only when `signal`
   * aborts or the server refuses the watch (401, 400).
   */
  async *watch(opts: WatchOptions = {}): AsyncGenerator<WatchMessage> {
    const signal = opts.signal ?? null;
    const q = new URLSearchParams();
    if (opts.kinds && opts.kinds.length > 0) q.set("kinds", opts.kinds.join(","));
    for (const job of opts.jobs ?? []) q.append("job", job);
    for (const host of opts.hosts ?? []) q.append("host", host);
    let from: number | null = opts.from ?? null;
    let retryMs: number | null = null;
    let opened = false;
    let listed = false;
    // Events yielded of the revision not yet closed by an id: a resume sends that revision again.
    let partial = { revision: -1, count: 0 };
    for (;;) {
      if (from === null) q.delete("from");
      else q.set("from", String(from));
      let res: Response | null = null;
      let expired: WatchExpired | null = null;
      try {
        res = await this.#request("GET", `/v1/watch${q.size > 0 ? `?${q.toString()}` : ""}`, undefined, signal);
      } catch (err) {
        if (err instanceof WatchExpiredError) expired = { code: err.code, message: err.message, hint: err.hint, compactRevision: err.compactRevision };
        // The first connection fails like any call; later ones wait for a server to come back.
        else if (!opened || signal?.aborted || !serverFailed(err)) throw err;
        else {
          await pause((retryMs = nextRetryMs(retryMs, opts.maxRetryMs ?? 5000)), signal);
          continue;
        }
      }
      if (res) {
        opened = true;
        opts.onOpen?.();
        if (from === null && listed) yield { type: "reset", reason: "the connection broke during the list: listing again" };
        if (from === null) partial = { revision: -1, count: 0 };
        let skip = { ...partial };
        let lastId: string | null = null;
        let bad: string | null = null;
        try {
          for await (const ev of parseSse(textChunks(res, this.addr))) {
            const frame = watchFrameOf(ev);
            if (frame.kind === "invalid") {
              bad = frame.problem;
              break;
            }
            if (frame.kind === "expired") {
              expired = frame.body;
              break;
            }
            if (frame.kind === "message") {
              retryMs = null;
              listed = from === null;
              const m = frame.message;
              const revision = "revision" in m ? m.revision : -1;
              if (m.type !== "bookmark" && revision === skip.revision && skip.count > 0) skip.count--;
              else {
                if (m.type !== "bookmark") partial = revision === partial.revision ? { revision, count: partial.count + 1 } : { revision, count: 1 };
                yield m;
              }
            }
            if (ev.id !== null && /^\d+$/.test(ev.id)) from = Number(ev.id) + 1;
            // An id is the last event id seen (it persists in SSE): a new one closes its revision.
            if (ev.id !== lastId) {
              lastId = ev.id;
              partial = { revision: -1, count: 0 };
              skip = { revision: -1, count: 0 };
            }
          }
        } catch (err) {
          if (signal?.aborted || !(err instanceof TiffinError)) throw err;
        }
        // Not retried: another connection to the same server would send the same thing.
        if (bad !== null) {
          throw new TiffinError(ErrorCodes.BadAnswer, `the watch from ${this.addr} sent ${bad}`, {
            hint: "is the server of another Tiffin version than this client? Compare `tiffin version` with the server's",
          });
        }
      }
      if (expired) {
        if (opts.relist === false) throw new WatchExpiredError(expired);
        yield { type: "reset", reason: expired.message };
        from = null;
        listed = false;
        partial = { revision: -1, count: 0 };
        continue;
      }
      if (signal?.aborted) return;
      await pause((retryMs = nextRetryMs(retryMs, opts.maxRetryMs ?? 5000)), signal);
      if (signal?.aborted) return;
    }
  }

  /** `POST /v1/packages/pieces/:sha256`: uploads one piece (the server re-hashes it). `encoding`
   * "zstd" says `data` is the zstd-compressed piece (pkg/wire.ts `compressPiece`). */
  uploadPiece(hash: string, data: Uint8Array, encoding: "zstd" | null = null): Promise<{ hash: string }> {
    return this.#json(answerSchemas.uploadPiece, "POST", `/v1/packages/pieces/${hash}`, data, encoding ? { "content-encoding": encoding } : {});
  }

  /** `GET /v1/packages/pieces/:sha256`: one piece's bytes (not verified here: callers hash them). */
  async piece(hash: string): Promise<Uint8Array> {
    const res = await this.#request("GET", `/v1/packages/pieces/${hash}`, undefined, null);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** `POST /v1/packages/missing`: which of `pieces` the server lacks. */
  missingPieces(pieces: string[]): Promise<{ missing: string[] }> {
    return this.#json(answerSchemas.missingPieces, "POST", "/v1/packages/missing", { pieces });
  }

  /** `POST /v1/packages`: registers a manifest whose pieces are all uploaded. */
  registerPackage(manifest: unknown): Promise<PackageRecord> {
    return this.#json(answerSchemas.package, "POST", "/v1/packages", { manifest });
  }

  /** `GET /v1/packages` (every version) or `GET /v1/packages/:name` (one package's history). */
  packages(name?: string): Promise<PackageSummary[]> {
    return this.#json(answerSchemas.packages, "GET", name === undefined ? "/v1/packages" : `/v1/packages/${enc(name)}`);
  }

  /** `PUT /v1/packages/:name/tags/:tag`: points a tag at a version. */
  tagPackage(name: string, tag: string, version: string): Promise<PackageSummary> {
    return this.#json(answerSchemas.packageSummary, "PUT", `/v1/packages/${enc(name)}/tags/${enc(tag)}`, { version });
  }

  /** `DELETE /v1/packages/:name/:version` (refused while a job version pins it). */
  removePackage(name: string, version: string): Promise<{ name: string; version: string; removed: true }> {
    return this.#json(answerSchemas.removePackage, "DELETE", `/v1/packages/${enc(name)}/${enc(version)}`);
  }

  /** `GET /v1/packages/manifests/:id`: one package version by id, with its manifest (callers check
   * that the manifest hashes to the id). */
  packageById(id: string): Promise<PackageRecord> {
    return this.#json(answerSchemas.package, "GET", `/v1/packages/manifests/${enc(id)}`);
  }

  /** A JSON answer checked by its schema (./answer-schemas.ts). An answer of another shape is
   * TIFFIN_BAD_ANSWER naming the field, and not sent again: another server would answer the same. */
  async #json<T>(schema: z.ZodType<T>, method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<T> {
    const res = await this.#request(method, path, body, null, extraHeaders);
    const text = await res.text().catch((err: unknown) => {
      throw networkError(err, this.addr);
    });
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new TiffinError(ErrorCodes.Unavailable, `the server at ${this.addr} sent a response that is not JSON (${method} ${path})`, {
        hint: "check that TIFFIN_ADDR / --addr points at a Tiffin server",
      });
    }
    const checked = checkAnswer(schema, v);
    if (!checked.ok) {
      throw new TiffinError(ErrorCodes.BadAnswer, `the server at ${this.addr} answered ${method} ${path} with a body of another shape: ${checked.problem}`, {
        hint: "is the server of another Tiffin version than this client? Compare `tiffin version` with the server's",
      });
    }
    return checked.value;
  }

  /** Sends a request, to the next server when one fails (see the top of this file); resolves once
   * headers arrived with a 2xx response, else rejects with a TiffinError. */
  async #request(method: string, path: string, body: unknown, signal: AbortSignal | null, extraHeaders: Record<string, string> = {}): Promise<Response> {
    const first = this.#current;
    let last: unknown = null;
    for (let i = 0; i < this.addrs.length; i++) {
      const at = (first + i) % this.addrs.length;
      try {
        const res = await this.#requestOne(this.addrs[at] ?? "", method, path, body, signal, extraHeaders);
        this.#current = at;
        return res;
      } catch (err) {
        if (signal?.aborted || !serverFailed(err)) throw err;
        last = err;
      }
    }
    if (this.addrs.length > 1 && last instanceof TiffinError) {
      throw new TiffinError(last.code, `no Tiffin server answered ${method} ${path} (tried ${this.addrs.join(", ")}); last: ${last.message}`, { hint: last.hint ?? "check that the servers are running", problems: last.problems });
    }
    throw last;
  }

  async #requestOne(addr: string, method: string, path: string, body: unknown, signal: AbortSignal | null, extraHeaders: Record<string, string>): Promise<Response> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.#timeoutMs);
    const signals = signal ? [timeout.signal, signal] : [timeout.signal];
    const headers: Record<string, string> = { ...extraHeaders };
    if (this.#token !== null) headers["authorization"] = `Bearer ${this.#token}`;
    // Bytes over an ArrayBuffer (not shared memory): what a browser's fetch accepts as a body; no copy
    // unless the bytes sit in a SharedArrayBuffer.
    const raw = body instanceof Uint8Array ? (body.buffer instanceof ArrayBuffer ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength) : new Uint8Array(body)) : null;
    if (body !== undefined) headers["content-type"] = raw !== null ? "application/octet-stream" : "application/json";
    let res: Response;
    try {
      res = await this.#fetch(`${addr}${withNamespace(path, this.namespace)}`, {
        method,
        headers,
        signal: AbortSignal.any(signals),
        ...(body === undefined ? {} : { body: raw ?? JSON.stringify(body) }),
      });
    } catch (err) {
      if (timeout.signal.aborted && !signal?.aborted) {
        throw failedServer(new TiffinError(ErrorCodes.Timeout, `the Tiffin server at ${addr} did not answer ${method} ${path} within ${this.#timeoutMs} ms`, {
          hint: "check that the server is running and not overloaded",
        }));
      }
      const e = networkError(err, addr);
      throw e instanceof TiffinError ? failedServer(e) : e;
    } finally {
      clearTimeout(timer);
    }
    if (res.status >= 400) {
      const e = await responseError(res, method, path);
      throw (res.status === 503 || res.status === 504) && e instanceof TiffinError ? failedServer(e) : e;
    }
    return res;
  }
}

/** Splits a comma-separated list of server addresses and normalizes each. */
export function splitAddrs(addrs: string): string[] {
  const out = addrs.split(",").map((a) => a.trim()).filter((a) => a !== "").map(normalizeAddr);
  return out.length > 0 ? out : [normalizeAddr(addrs)];
}

/** Accepts `host:port` as well as full URLs. */
export function normalizeAddr(addr: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(addr) ? addr : `http://${addr}`;
  return withScheme.replace(/\/+$/, "");
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

/** The response body as decoded text chunks; the connection is closed when the consumer stops early. */
async function* textChunks(res: Response, addr: string): AsyncGenerator<string> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      let r: Awaited<ReturnType<typeof reader.read>>;
      try {
        r = await reader.read();
      } catch (err) {
        throw networkError(err, addr);
      }
      if (r.done) break;
      const text = decoder.decode(r.value, { stream: true });
      if (text) yield text;
    }
    const rest = decoder.decode();
    if (rest) yield rest;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** Base64 of bytes without `node:` (this client also runs in browsers). */
function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}
