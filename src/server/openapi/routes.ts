// What each route of the HTTP API is, for the OpenAPI document: a summary, and the zod schemas of its
// body and answer where they exist. Keyed by the router's own method and pattern; document.test.ts
// fails when a registered route has no entry here, or an entry no route.

import { z } from "zod";
import { metricsReportSchema } from "../../model/index.ts";
import { jobInputSchema } from "../../spec/input.ts";
import { noteBody, revertBody, scaleBody } from "../routes/jobs.ts";
import { missingBody, tagBody } from "../routes/packages.ts";
import { restartBody } from "../routes/restart.ts";
import { applyResultSchema, okSchema, watchMessageSchema } from "./schemas.ts";

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
  /** The JSON answer (or each SSE message's data) when a schema exists. */
  response?: z.ZodType;
  /** Why the route may answer 410 Gone, when it may. */
  gone?: string;
  /** Query parameters: name -> description. */
  query?: Record<string, string>;
}

const specBody = z.object({ spec: jobInputSchema, by: z.string().optional(), message: z.string().optional() });

/** Every route, by `METHOD pattern`. */
export const routeDocs: Readonly<Record<string, RouteDoc>> = {
  "GET /v1/jobs": { summary: "List jobs with their task counts" },
  "POST /v1/jobs": { summary: "Apply a job spec: store a new version if it changed", body: specBody, response: applyResultSchema },
  "POST /v1/jobs/:name/revert": { summary: "Store an earlier version's spec and package pins as a new version", body: revertBody.extend(noteBody.shape), response: applyResultSchema },
  "POST /v1/jobs/:name/scale": { summary: "Store the current spec and package pins with another replica count as a new version", body: scaleBody.extend(noteBody.shape), response: applyResultSchema },
  "POST /v1/plan": { summary: "What applying a spec would change and where tasks would run; writes nothing", body: z.object({ spec: jobInputSchema }) },
  "GET /v1/jobs/:name": { summary: "A job's status: spec and tasks" },
  "DELETE /v1/jobs/:name": { summary: "Remove a job: stop its tasks, keep its versions" },
  "POST /v1/jobs/:name/restart": { summary: "Release parked tasks and restart live ones (one task with index)", body: restartBody },
  "GET /v1/jobs/:name/versions": { summary: "A job's versions" },
  "GET /v1/jobs/:name/versions/:v": { summary: "One version of a job" },
  "GET /v1/hosts": { summary: "Hosts with liveness and load" },
  "POST /v1/hosts/:idOrName/drain": { summary: "Drain a host: move its tasks elsewhere, place none there" },
  "POST /v1/hosts/:idOrName/undrain": { summary: "Let a drained host take tasks again" },
  "DELETE /v1/hosts/:idOrName": { summary: "Forget a down host's record and token (re-provisioning)" },
  "GET /v1/tasks/:job/:index/logs": { summary: "A task's logs, streamed (follow, tail, since, grep, all attempts)", responds: "text", query: { stream: "stdout or stderr", attempt: "attempt id", follow: "1 to keep streaming", tail: "last N lines", since: "epoch ms", grep: "regular expression", all: "1: every attempt, oldest first" } },
  "POST /v1/tasks/:job/:index/exec": { summary: "Run a command in the task's sandbox (no stdin); output frames then the exit status", body: z.object({ command: z.array(z.string()).min(1), user: z.string().optional() }), responds: "ndjson" },
  "UPGRADE POST /v1/tasks/:job/:index/exec": { summary: "Interactive exec session (Upgrade: tiffin-exec.v1): JSON lines both ways", responds: "upgrade", query: { command: "argv, repeated", tty: "1 for a terminal", cols: "terminal columns", rows: "terminal rows", term: "TERM inside", user: "who asks" } },
  "GET /v1/tasks/:job/:index/usage": { summary: "A task's per-minute resource samples, oldest first" },
  "GET /v1/jobs/:name/metrics": { summary: "Each task's CPU and memory against its limits and the latest summary of its metrics endpoint", query: { series: "1: each task's kept points too (one a minute, --metrics-keep, 24 h by default)" } },
  "GET /v1/prometheus/sd": { summary: "Every running task's metrics endpoint as Prometheus HTTP service discovery target groups (job/index/host/version labels)" },
  "GET /v1/audit": { summary: "The newest audit entries (exec), oldest first", query: { limit: "how many (default 100)" } },
  "GET /v1/watch": { summary: "Typed changes of allow-listed kinds: list, bookmark, then changes; resumable by revision", responds: "sse", response: watchMessageSchema, gone: "TIFFIN_WATCH_EXPIRED: the start revision is compacted (compactRevision says where history starts); list again", query: { kinds: "comma-separated kinds (default: every kind)", from: "store revision to start at (inclusive); without it, list first", job: "only these jobs' objects (repeatable)" } },
  "GET /v1/cluster": { summary: "This server and the leader it knows of" },
  "POST /v1/internal/contacts": { summary: "Hosts a follower heard from, passed to the leader (servers only)", response: okSchema },
  "GET /v1/openapi.json": { summary: "This document" },
  "GET /metrics": { summary: "Prometheus metrics", responds: "text" },
  "GET /healthz": { summary: "200 while the process answers (no token)" },
  "GET /readyz": { summary: "200 when the store and the mirror are ready, else 503 (no token)" },
  "POST /v1/swarm/peer-token/rotate": { summary: "A new peer token for agents (the previous one stays accepted)" },
  "POST /v1/packages/pieces/:sha256": { summary: "Upload one piece (at most 4 MiB; the server re-hashes it)", rawBody: true },
  "GET /v1/packages/pieces/:sha256": { summary: "One piece's bytes", responds: "bytes" },
  "GET /v1/agent/packages/pieces/:sha256": { summary: "One piece's bytes (agents)", responds: "bytes" },
  "GET /v1/packages/manifests/:id": { summary: "One package version by id, with its manifest" },
  "GET /v1/agent/packages/manifests/:id": { summary: "One package version by id, with its manifest (agents)" },
  "POST /v1/packages/missing": { summary: "Which of the pieces the server lacks", body: missingBody },
  "POST /v1/packages": { summary: "Register a package manifest whose pieces are uploaded", body: z.object({ manifest: z.unknown() }) },
  "GET /v1/packages": { summary: "Every version of every package" },
  "GET /v1/packages/:name": { summary: "One package's history, oldest first" },
  "PUT /v1/packages/:name/tags/:tag": { summary: "Point a tag at a version", body: tagBody },
  "DELETE /v1/packages/:name/:version": { summary: "Remove a package version (refused while a job version pins it)" },
  "POST /v1/agent/register": { summary: "Register an agent (join token); re-registering needs the host token" },
  "POST /v1/agent/heartbeat": { summary: "An agent's heartbeat (host token)" },
  "POST /v1/agent/attempts": { summary: "An agent's report of attempt states (host token)", response: okSchema },
  "POST /v1/agent/metrics": { summary: "An agent's summaries of its tasks' metrics endpoints (host token)", body: metricsReportSchema, response: okSchema },
  "GET /v1/agent/assignments": { summary: "The host's desired attempts, again on every change (host token)", responds: "sse" },
  "POST /v1/agent/swarm/announce": { summary: "Which pieces the agent holds and where it serves them" },
  "POST /v1/agent/swarm/plan": { summary: "Whom to fetch each missing piece from" },
  "POST /v1/agent/swarm/report": { summary: "A peer sent a bad piece, or lacked one it announced", response: okSchema },
  "POST /v1/internal/swarm/:what": { summary: "A follower passing an agent's swarm call to the leader (servers only)" },
};

/** The key of a route in `routeDocs`. */
export function routeKey(r: { method: string; pattern: string; upgrade: boolean }): string {
  return `${r.upgrade ? "UPGRADE " : ""}${r.method} ${r.pattern}`;
}
