// What each route of the HTTP API is, for the OpenAPI document: a summary, and the zod schemas of its
// body and answer where they exist. Keyed by the router's own method and pattern; document.test.ts
// fails when a registered route has no entry here, or an entry no route.

import { z } from "zod";
import { answerSchemas, healthSchema } from "../../api/answer-schemas.ts";
import { assignmentsSchema, heartbeatResponseSchema, registerResponseSchema, swarmAnnounceResponseSchema, swarmPlanSchema } from "../../api/agent-wire.ts";
import { execFrameSchema } from "../../api/exec-wire.ts";
import { certificateAnswerSchema, certificateRequestSchema } from "../../api/cert-wire.ts";
import { caFinishBodySchema, caRotateBodySchema } from "../../api/ca-wire.ts";
import { metricsReportSchema, tokenCreateSchema } from "../../model/index.ts";
import { secretSetSchema } from "../../model/index.ts";
import { jobSpecSchema } from "../../spec/canonical.ts";
import { noteBody, revertBody, scaleBody } from "../routes/jobs.ts";
import { missingBody, tagBody } from "../routes/packages.ts";
import { restartBody } from "../routes/restart.ts";
import { runBody } from "../routes/runs.ts";
import { drainBody } from "../routes/hosts.ts";
import { maintenanceBody } from "../routes/maintenance.ts";
import { okSchema, watchMessageSchema } from "./schemas.ts";

/** How a route answers when it succeeds. */
export type ResponseKind = "json" | "sse" | "text" | "bytes" | "ndjson" | "upgrade";

/** One route's description. */
export interface RouteDoc {
  summary: string;
  /** The JSON body, when the route takes one. */
  body?: z.ZodType;
  /** A raw body instead (`application/octet-stream`). */
  rawBody?: true;
  /** @default "json" */
  responds?: ResponseKind;
  /** The JSON answer, each SSE message's data, or each JSON line (document.test.ts: required for
   * those three kinds; the client checks answers with the same schemas, src/api/answer-schemas.ts). */
  response?: z.ZodType;
  /** Why the route may answer 410 Gone, when it may. */
  gone?: string;
  /** Query parameters: name -> description. */
  query?: Record<string, string>;
}

/** What apply and plan take: the compiled spec (`tiffin apply` compiles the user's file first; the
 * form users write is the `Job` schema, schema/job.schema.json). */
const compiledSpec = jobSpecSchema.meta({ id: "JobSpec", description: "A compiled job spec, as `tiffin apply` sends it (sizes in MiB, durations in ms)" });
/** Prometheus HTTP service discovery's answer: target groups (routes/prometheus-sd.ts). */
const prometheusSdSchema = z.array(z.object({ targets: z.array(z.string()), labels: z.record(z.string(), z.string()) })).meta({ description: "Prometheus http_sd_config target groups" });
const specBody = z.object({ spec: compiledSpec, by: z.string().optional(), message: z.string().optional() });

/** Every route, by `METHOD pattern`. */
export const routeDocs: Readonly<Record<string, RouteDoc>> = {
  "GET /v1/jobs": { summary: "List jobs with their task counts", response: answerSchemas.jobs },
  "POST /v1/jobs": { summary: "Apply a job spec: store a new version if it changed", body: specBody, response: answerSchemas.apply },
  "POST /v1/jobs/:name/revert": { summary: "Store an earlier version's spec and package pins as a new version", body: revertBody.extend(noteBody.shape), response: answerSchemas.apply },
  "POST /v1/jobs/:name/scale": { summary: "Store the current spec and package pins with another replica count as a new version", body: scaleBody.extend(noteBody.shape), response: answerSchemas.apply },
  "POST /v1/plan": { summary: "What applying a spec would change and where tasks would run; writes nothing", body: z.object({ spec: compiledSpec }), response: answerSchemas.plan },
  "GET /v1/jobs/:name": { summary: "A job's status: spec and tasks", response: answerSchemas.job },
  "DELETE /v1/jobs/:name": { summary: "Remove a job: stop its tasks, keep its versions", response: answerSchemas.removeJob },
  "POST /v1/jobs/:name/restart": { summary: "Release parked tasks and restart live ones (one task with index)", body: restartBody, response: answerSchemas.restart },
  "GET /v1/jobs/:name/versions": { summary: "A job's versions", response: answerSchemas.versions },
  "GET /v1/jobs/:name/versions/:v": { summary: "One version of a job", response: answerSchemas.version },
  "GET /v1/jobs/:name/versions/:v/diff": { summary: "Every changed field between two versions of a job, as specs are written (?from=N, default the version before)", response: answerSchemas.versionDiff },
  "GET /v1/hosts": { summary: "Hosts with liveness and load", response: answerSchemas.hosts },
  "GET /v1/hosts/:idOrName/checks": { summary: "A host's machine checks, each with its history", response: answerSchemas.hostChecks },
  "GET /v1/remediations": { summary: "Remediation records, the budget alert and the budget", response: answerSchemas.remediations },
  "POST /v1/hosts/:idOrName/drain": { summary: "Drain a host: move its tasks elsewhere within their jobs' disruption budgets, place none there; a deadline, then wait, force or stop", body: drainBody, response: answerSchemas.host },
  "GET /v1/maintenance": { summary: "Every maintenance window, by start (cancelled ones too)", response: answerSchemas.maintenanceList },
  "POST /v1/maintenance": { summary: "Plan a maintenance window for a host, rack, cluster or datacenter", body: maintenanceBody, response: answerSchemas.maintenance },
  "POST /v1/maintenance/:id/cancel": { summary: "Cancel a maintenance window (endured tasks start again)", response: answerSchemas.maintenance },
  "POST /v1/hosts/:idOrName/decommission": { summary: "Drain a host and take it out of placement for good (its record and history stay; undrain is refused)", body: drainBody, response: answerSchemas.host },
  "GET /v1/hosts/:idOrName": { summary: "One host, with its drain's report (what holds each job there, since when)", response: answerSchemas.host },
  "POST /v1/hosts/:idOrName/undrain": { summary: "Let a drained host take tasks again", response: answerSchemas.host },
  "DELETE /v1/hosts/:idOrName": { summary: "Forget a down host's record and token (re-provisioning)", response: answerSchemas.removeHost },
  "GET /v1/jobs/:name/rollout": { summary: "A job's latest rollout: phase, tasks done, each check's verdict with its figures, what it waits for", response: answerSchemas.rolloutStatus },
  "GET /v1/jobs/:name/rollouts": { summary: "A job's rollout history, oldest first, with each phase's verdicts", response: answerSchemas.rollouts },
  "POST /v1/jobs/:name/rollout/:command": { summary: "pause, resume, promote (skip the bake) or abort (roll back now) the job's rollout", response: answerSchemas.rolloutStatus },
  "POST /v1/jobs/:name/runs": { summary: "Start a run of a batch job (201), or, with a key already used, answer the run it started (200); params reach the tasks as TIFFIN_PARAM_<NAME>", body: runBody, response: answerSchemas.run },
  "GET /v1/jobs/:name/runs": { summary: "A batch job's kept runs, oldest first, each item with its attempts", response: answerSchemas.runs },
  "GET /v1/runs/:job/:id": { summary: "One run: its state and why, each item's attempts with exit codes and times", response: answerSchemas.run },
  "POST /v1/runs/:job/:id/cancel": { summary: "Cancel a run: pending items are dropped, running ones stopped", response: answerSchemas.run },
  "GET /v1/tasks/:job/:index/logs": { summary: "A task's logs, streamed (follow, tail, since, grep, all attempts)", responds: "text", query: { stream: "stdout or stderr", attempt: "attempt id", follow: "1 to keep streaming", tail: "last N lines", since: "epoch ms", grep: "regular expression", all: "1: every attempt, oldest first" } },
  "POST /v1/tasks/:job/:index/exec": { summary: "Run a command in the task's sandbox (no stdin); output frames then the exit status", body: z.object({ command: z.array(z.string()).min(1), user: z.string().optional() }), responds: "ndjson", response: execFrameSchema },
  "UPGRADE POST /v1/tasks/:job/:index/exec": { summary: "Interactive exec session (Upgrade: tiffin-exec.v1): JSON lines both ways", responds: "upgrade", query: { command: "argv, repeated", tty: "1 for a terminal", cols: "terminal columns", rows: "terminal rows", term: "TERM inside", user: "who asks" } },
  "GET /v1/tasks/:job/:index/usage": { summary: "A task's per-minute resource samples, oldest first", response: answerSchemas.usage },
  "GET /v1/jobs/:name/metrics": { summary: "Each task's CPU and memory against its limits and the latest summary of its metrics endpoint", query: { series: "1: each task's kept points too (one a minute, --metrics-keep, 24 h by default)" }, response: answerSchemas.jobMetrics },
  "GET /v1/prometheus/sd": { summary: "Every running task's metrics endpoint as Prometheus HTTP service discovery target groups (job/index/host/version labels)", response: prometheusSdSchema },
  "GET /v1/audit": { summary: "The newest audit entries (every change and every exec: who, what, when, from where, outcome), oldest first", query: { limit: "how many (default 100)", since: "only entries at or after this epoch ms" }, response: answerSchemas.audit },
  "POST /v1/tokens": { summary: "A new API token with a policy and a TTL; its secret is in this answer only", body: tokenCreateSchema, response: answerSchemas.tokenCreated },
  "GET /v1/tokens": { summary: "Every API token with its policy and state (never a secret or its digest)", response: answerSchemas.tokens },
  "DELETE /v1/tokens/:id": { summary: "Revoke a token: refused by every server from then on", response: answerSchemas.token },
  "GET /v1/whoami": { summary: "The calling token: id, name, policy, expiry", response: answerSchemas.whoami },
  "PUT /v1/secrets/:ns/:name": { summary: "Set a secret's value (base64), sealed at rest; its next version rolls the jobs that use it", body: secretSetSchema, response: answerSchemas.secret },
  "GET /v1/secrets": { summary: "Every secret's name, version and dates (never a value)", response: answerSchemas.secrets },
  "DELETE /v1/secrets/:ns/:name": { summary: "Remove a secret (refused while a job uses it)", response: answerSchemas.secret },
  "GET /v1/watch": { summary: "Typed changes of allow-listed kinds: list, bookmark, then changes; resumable by revision", responds: "sse", response: watchMessageSchema, gone: "TIFFIN_WATCH_EXPIRED: the start revision is compacted (compactRevision says where history starts); list again", query: { kinds: "comma-separated kinds (default: every kind)", from: "store revision to start at (inclusive); without it, list first", job: "only these jobs' objects (repeatable)", host: "only objects on these hosts, by name or id (repeatable)" } },
  "GET /v1/services": { summary: "Every service (a job naming ports) and how many serving endpoints it has", response: answerSchemas.services },
  "GET /v1/services/:name/endpoints": { summary: "A service's serving endpoints (healthy, or running without a health check, on hosts that are up), by task index; changes stream from GET /v1/watch?kinds=endpoint", response: answerSchemas.endpoints },
  "GET /v1/cluster": { summary: "This server and the leader it knows of", response: answerSchemas.cluster },
  "GET /v1/jobs/:name/recommendation": { summary: "Recommended resources from the tasks' usage history: current, recommended, the evidence, and what resources.adapt would apply", response: answerSchemas.recommendation },
  "GET /v1/recommendations": { summary: "Every job's recommendation (as GET /v1/jobs/:name/recommendation)", response: answerSchemas.recommendations },
  "POST /v1/internal/contacts": { summary: "Hosts a follower heard from, passed to the leader (servers only)", response: okSchema },
  "POST /v1/internal/metrics": { summary: "An agent's metrics report a follower passed to the leader (servers only)", response: okSchema },
  "GET /v1/openapi.json": { summary: "This document", response: z.record(z.string(), z.unknown()).meta({ description: "An OpenAPI 3.1 document" }) },
  "GET /metrics": { summary: "Prometheus metrics", responds: "text" },
  "GET /healthz": { summary: "200 while the process answers (no token)", response: healthSchema },
  "GET /readyz": { summary: "200 when the store and the mirror are ready, else 503 (no token)", response: healthSchema },
  "GET /v1/swarm/fetches": { summary: "Package fetches in flight: per package and host, pieces held of the total, from peers or the origin (the leader's swarm tracker)", response: answerSchemas.swarmFetches },
  "POST /v1/swarm/peer-token/rotate": { summary: "A new peer token for agents (the previous one stays accepted)", response: answerSchemas.rotatePeerToken },
  "POST /v1/packages/pieces/:sha256": { summary: "Upload one piece (at most 4 MiB; the server re-hashes it)", rawBody: true, response: answerSchemas.uploadPiece },
  "GET /v1/packages/pieces/:sha256": { summary: "One piece's bytes", responds: "bytes" },
  "GET /v1/agent/packages/pieces/:sha256": { summary: "One piece's bytes (agents)", responds: "bytes" },
  "GET /v1/packages/manifests/:id": { summary: "One package version by id, with its manifest", response: answerSchemas.package },
  "GET /v1/agent/packages/manifests/:id": { summary: "One package version by id, with its manifest (agents)", response: answerSchemas.package },
  "POST /v1/packages/missing": { summary: "Which of the pieces the server lacks", body: missingBody, response: answerSchemas.missingPieces },
  "POST /v1/packages": { summary: "Register a package manifest whose pieces are uploaded", body: z.object({ manifest: z.unknown() }), response: answerSchemas.package },
  "GET /v1/packages": { summary: "Every version of every package", response: answerSchemas.packages },
  "GET /v1/packages/:name": { summary: "One package's history, oldest first", response: answerSchemas.packages },
  "PUT /v1/packages/:name/tags/:tag": { summary: "Point a tag at a version", body: tagBody, response: answerSchemas.packageSummary },
  "DELETE /v1/packages/:name/:version": { summary: "Remove a package version (refused while a job version pins it)", response: answerSchemas.removePackage },
  "POST /v1/agent/register": { summary: "Register an agent (join token); re-registering needs the host token", response: registerResponseSchema },
  "POST /v1/agent/heartbeat": { summary: "An agent's heartbeat (host token)", response: heartbeatResponseSchema },
  "GET /v1/ca": { summary: "The cluster CAs (hash, subject, expiry, whether each signs host certificates or the servers' own), how many hosts hold a certificate from each, and the live hosts a rotation's finish waits for", response: answerSchemas.caStatus },
  "GET /v1/ca/trust": { summary: "The CAs a client should trust now (PEM with hashes; two during a rotation), and the one the servers serve under", response: answerSchemas.caTrust },
  "POST /v1/ca/rotate": { summary: "Start a CA rotation: a new CA (made, or the one given) signs host certificates, both are trusted, agents renew at once; servers keep serving under the old one until finish", body: caRotateBodySchema, response: answerSchemas.caRotated },
  "POST /v1/ca/finish": { summary: "Finish a CA rotation: servers serve under the new CA and the old one is trusted no more; refused (409, naming them) while a live host holds no certificate from the new one, unless force", body: caFinishBodySchema, response: answerSchemas.caFinished },
  "POST /v1/agent/certificate": { summary: "Signs the agent's certificate request into its host's client certificate (host token, or the current certificate)", body: certificateRequestSchema, response: certificateAnswerSchema },
  "POST /v1/agent/attempts": { summary: "An agent's report of attempt states (host token)", response: okSchema },
  "POST /v1/agent/metrics": { summary: "An agent's summaries of its tasks' metrics endpoints (host token)", body: metricsReportSchema, response: okSchema },
  "GET /v1/agent/endpoints": { summary: "The endpoints of the services the host's tasks use: list, bookmark, then changes, as GET /v1/watch?kinds=endpoint (host token)", responds: "sse", response: watchMessageSchema, gone: "TIFFIN_WATCH_EXPIRED: the start revision is compacted; list again", query: { service: "the services (repeatable or comma-separated)", from: "store revision to start at (inclusive); without it, list first" } },
  "GET /v1/agent/assignments": { summary: "The host's desired attempts, again on every change (host token)", responds: "sse", response: assignmentsSchema },
  "POST /v1/agent/swarm/announce": { summary: "Which pieces the agent holds and where it serves them", response: swarmAnnounceResponseSchema },
  "POST /v1/agent/swarm/plan": { summary: "Whom to fetch each missing piece from", response: swarmPlanSchema },
  "POST /v1/agent/swarm/report": { summary: "A peer sent a bad piece, or lacked one it announced", response: okSchema },
  "POST /v1/internal/swarm/:what": { summary: "A follower passing an agent's swarm call to the leader (servers only)", response: z.union([swarmPlanSchema, swarmAnnounceResponseSchema, okSchema]) },
};

/** The key of a route in `routeDocs`. */
export function routeKey(r: { method: string; pattern: string; upgrade: boolean }): string {
  return `${r.upgrade ? "UPGRADE " : ""}${r.method} ${r.pattern}`;
}
