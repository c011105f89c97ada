// The schema of every JSON answer of the users' API, declared once: `ApiClient` checks each answer
// with it before handing it on (an answer of another shape is TIFFIN_BAD_ANSWER naming the field, not
// a crash three calls later), and the server's OpenAPI document shows it (src/server/openapi). Each
// is asserted equal to its type in ./types.ts at compile time. Objects are zod's plain objects: a
// field a newer server added is dropped, not refused; a field marked "absent from older servers" in
// types.ts is optional here. Browser-safe (zod and the model only).
import { z } from "zod";
import {
  AttemptStates, apiTokenViewSchema, attemptSchema, auditEntrySchema, tokenCreatedSchema, whoamiSchema, endpointSchema, maintenanceWindowSchema, serviceSummarySchema, hostSchema, jobVersionSchema, metricsEndpointSchema, packagePinSchema, packageRecordSchema,
  recommendationSchema, resourcesSchema, rolloutSchema, runSchema, secretViewSchema, storedJobSpecSchema, taskMetricsSchema, usageSampleSchema,
} from "../model/index.ts";
import type { Assert, TypesMatch } from "../model/index.ts";
import { hostCheckSchema, machineCheckResultSchema, remediationAlertSchema, remediationSchema } from "../model/index.ts";
import type { HostChecksView, RemediationsView } from "./types.ts";
import type {
  ApplyResult, ClusterView, HostRemoval, HostView, JobMetricsView, JobStatus, JobSummary, PackageSummary, PeerTokenRotation, PlanResult, RestartResult, RolloutStatus, TaskView,
} from "./types.ts";
import { PlanActions } from "./types.ts";
import { swarmFetchesSchema } from "./swarm-fetches.ts";
import { caFinishedSchema, caRotatedSchema, caStatusSchema, caTrustSchema } from "./ca-wire.ts";

/** `ApplyResult` (apply, revert, scale). */
export const applyResultSchema = z.object({
  name: z.string(),
  namespace: z.string().exactOptional(),
  version: z.number().int(),
  changed: z.boolean(),
  revision: z.number().int().meta({ description: "Store revision of the write; watch from here" }),
});

/** `JobSummary`, one line of `GET /v1/jobs`. */
export const jobSummarySchema = z.object({
  name: z.string(),
  namespace: z.string().exactOptional(),
  version: z.number().int(),
  replicas: z.number().int(),
  placed: z.number().int(),
  running: z.number().int(),
  healthy: z.number().int(),
  removed: z.boolean(),
});

/** `TaskView`, one task of `GET /v1/jobs/:name`. */
export const taskViewSchema = z.object({
  id: z.string(),
  index: z.number().int(),
  version: z.number().int(),
  hostId: z.string().nullable(),
  hostName: z.string().nullable(),
  state: z.enum([...AttemptStates, "unplaced", "parked"]),
  attemptId: z.string().nullable(),
  pid: z.number().int().nullable(),
  ports: z.record(z.string(), z.number()),
  failures: z.number().int(),
  reason: z.string().nullable(),
  neverFits: z.boolean().exactOptional(),
  attempts: z.array(attemptSchema),
});

/** `JobStatus`: `GET /v1/jobs/:name`. */
export const jobStatusSchema = z.object({
  name: z.string(),
  namespace: z.string().exactOptional(),
  version: z.number().int(),
  removed: z.boolean(),
  spec: storedJobSpecSchema,
  tasks: z.array(taskViewSchema),
});

/** `TaskMetricsPoint` (model/task-metrics.ts). */
const taskMetricsPointSchema = z.object({
  at: z.number(),
  up: z.boolean(),
  scrapeErrors: z.number(),
  clients: z.number().nullable(),
  errorsPerSec: z.number().nullable(),
  latencySeconds: z.number().nullable(),
});

/** `JobMetricsView`: `GET /v1/jobs/:name/metrics`. */
export const jobMetricsViewSchema = z.object({
  name: z.string(),
  namespace: z.string().optional(),
  version: z.number().int(),
  endpoint: metricsEndpointSchema.nullable(),
  tasks: z.array(
    z.object({
      index: z.number().int(),
      version: z.number().int(),
      hostId: z.string().nullable(),
      hostName: z.string().nullable(),
      state: taskViewSchema.shape.state,
      attemptId: z.string().nullable(),
      cpuCores: z.number().nullable(),
      cpuLimit: z.number(),
      memoryBytes: z.number().nullable(),
      memoryLimitBytes: z.number(),
      // Absent from servers before them: unknown, none counted.
      ioReadRate: z.number().nullable().default(null),
      ioWriteRate: z.number().nullable().default(null),
      restarts: z.number().int().default(0),
      metrics: taskMetricsSchema.nullable(),
      checks: z
        .array(
          z.object({
            check: z.number().int(),
            condition: z.string(),
            action: z.enum(["restart", "move"]),
            state: z.enum(["unknown", "ok", "pending", "firing"]),
            value: z.number().nullable(),
            since: z.number().nullable(),
            at: z.number().nullable(),
            taken: z.enum(["waiting", "held", "acting"]).nullable(),
            heldSince: z.number().nullable(),
          }),
        )
        .exactOptional(),
      series: z.array(taskMetricsPointSchema).exactOptional(),
    }),
  ),
});

/** One line of a structural diff (`DiffLine`). */
const diffLineSchema = z.object({ path: z.string(), op: z.enum(["add", "remove", "change"]), before: z.unknown().optional(), after: z.unknown().optional() });

/** `VersionDiff`: `GET /v1/jobs/:name/versions/:v/diff`. */
export const versionDiffSchema = z.object({ name: z.string(), from: z.number().int().nullable(), to: z.number().int(), diff: z.array(diffLineSchema) });

/** `PlanResult`: `POST /v1/plan`. */
export const planResultSchema = z.object({
  name: z.string(),
  namespace: z.string().exactOptional(),
  version: z.number().int(),
  current: z.number().int().nullable(),
  changed: z.boolean(),
  diff: z.array(diffLineSchema),
  placements: z.array(z.object({ index: z.number().int(), hostId: z.string(), hostName: z.string(), rack: z.string(), moved: z.boolean() })),
  unplaced: z.array(z.object({ index: z.number().int(), reasons: z.record(z.string(), z.number()) })),
  packages: z.array(packagePinSchema).exactOptional(),
  tasks: z.array(z.object({ index: z.number().int(), action: z.enum(PlanActions), reason: z.string(), hostBefore: z.string().nullable(), hostAfter: z.string().nullable() })).exactOptional(),
  neverFits: z.string().nullable().exactOptional(),
});

/** `RestartResult`: `POST /v1/jobs/:name/restart`. */
export const restartResultSchema = z.object({
  name: z.string(),
  tasks: z.array(z.object({ index: z.number().int(), action: z.enum(["unparked", "restarted"]) })),
});

/** `{name, removed: true}`: `DELETE /v1/jobs/:name`. */
export const jobRemovalSchema = z.object({ name: z.string(), removed: z.literal(true) });

/** `HostView`: a host with liveness and load (`GET /v1/hosts`, drain, undrain). */
export const hostViewSchema = hostSchema.extend({
  status: z.enum(["up", "suspect", "down", "upgrading"]),
  lastHeartbeatAt: z.number().nullable(),
  tasks: z.number().int(),
  // Absent from servers before it existed: none counted.
  unhealthy: z.number().int().default(0),
  used: resourcesSchema,
  failingChecks: z.array(machineCheckResultSchema).exactOptional(),
});

/** `HostChecksView`: `GET /v1/hosts/:idOrName/checks`. */
export const hostChecksViewSchema = z.object({ id: z.string(), name: z.string(), checks: z.array(hostCheckSchema) });

/** `RemediationsView`: `GET /v1/remediations`. */
export const remediationsViewSchema = z.object({
  remediations: z.array(remediationSchema),
  alert: remediationAlertSchema.nullable(),
  budget: z.object({ maxHosts: z.number(), maxDomainPct: z.number(), rateCount: z.number(), ratePerMs: z.number() }),
  rules: z.number().int(),
});

/** `HostRemoval`: `DELETE /v1/hosts/:idOrName`. */
export const hostRemovalSchema = z.object({ id: z.string(), name: z.string(), removed: z.literal(true) });

/** `PeerTokenRotation`: `POST /v1/swarm/peer-token/rotate`. */
export const peerTokenRotationSchema = z.object({ rotatedAt: z.number(), accepted: z.number().int() });

const serverViewSchema = z.object({ id: z.string(), url: z.string() });

/** `ClusterView`: `GET /v1/cluster`. */
export const clusterViewSchema = z.object({
  self: serverViewSchema.extend({ leader: z.boolean(), terms: z.array(z.object({ start: z.number(), end: z.number().nullable() })) }),
  leader: serverViewSchema.extend({ since: z.number() }).nullable(),
  revision: z.number().int(),
  version: z.string(),
  remediationAlert: remediationAlertSchema.exactOptional(),
});

/** `PackageSummary`: `GET /v1/packages`, `GET /v1/packages/:name`, tagging. */
export const packageSummarySchema = z.object({
  name: z.string(),
  version: z.string(),
  id: z.string(),
  totalSize: z.number(),
  pieces: z.number().int(),
  registeredAt: z.number(),
  tags: z.array(z.string()),
  pinnedBy: z.array(z.string()),
});

/** `{name, version, removed: true}`: `DELETE /v1/packages/:name/:version`. */
export const packageRemovalSchema = z.object({ name: z.string(), version: z.string(), removed: z.literal(true) });

/** `{hash}`: `POST /v1/packages/pieces/:sha256`. */
export const pieceUploadSchema = z.object({ hash: z.string() });

/** `{missing}`: `POST /v1/packages/missing`. */
export const missingPiecesSchema = z.object({ missing: z.array(z.string()) });

/** `{status}` of `GET /healthz`, and readyz's checks. */
export const healthSchema = z.object({
  status: z.string(),
  store: z.enum(["ok", "unreachable"]).optional(),
  mirror: z.enum(["ok", "not following"]).optional(),
});

/** RolloutStatus. */
export const rolloutStatusSchema = z.object({
  name: z.string(),
  n: z.number(),
  rollout: rolloutSchema.nullable(),
  tasksDone: z.number(),
  tasksTotal: z.number(),
  inPhaseMs: z.number().nullable(),
  waitingFor: z.string().nullable(),
});

/** The answers the client reads, by method (one place for the client and the OpenAPI document). */
export const answerSchemas = {
  jobs: z.array(jobSummarySchema),
  apply: applyResultSchema,
  plan: planResultSchema,
  job: jobStatusSchema,
  jobMetrics: jobMetricsViewSchema,
  recommendation: recommendationSchema,
  recommendations: z.array(recommendationSchema),
  rolloutStatus: rolloutStatusSchema,
  rollouts: z.array(rolloutSchema),
  run: runSchema,
  runs: z.array(runSchema),
  removeJob: jobRemovalSchema,
  restart: restartResultSchema,
  versions: z.array(jobVersionSchema),
  version: jobVersionSchema,
  versionDiff: versionDiffSchema,
  hosts: z.array(hostViewSchema),
  host: hostViewSchema,
  removeHost: hostRemovalSchema,
  rotatePeerToken: peerTokenRotationSchema,
  swarmFetches: swarmFetchesSchema,
  cluster: clusterViewSchema,
  audit: z.array(auditEntrySchema),
  usage: z.array(usageSampleSchema),
  uploadPiece: pieceUploadSchema,
  missingPieces: missingPiecesSchema,
  package: packageRecordSchema,
  packages: z.array(packageSummarySchema),
  packageSummary: packageSummarySchema,
  removePackage: packageRemovalSchema,
  services: z.array(serviceSummarySchema),
  endpoints: z.array(endpointSchema),
  tokens: z.array(apiTokenViewSchema),
  token: apiTokenViewSchema,
  tokenCreated: tokenCreatedSchema,
  whoami: whoamiSchema,
  hostChecks: hostChecksViewSchema,
  remediations: remediationsViewSchema,
  maintenance: maintenanceWindowSchema,
  maintenanceList: z.array(maintenanceWindowSchema),
  secret: secretViewSchema,
  secrets: z.array(secretViewSchema),
  caStatus: caStatusSchema,
  caTrust: caTrustSchema,
  caRotated: caRotatedSchema,
  caFinished: caFinishedSchema,
} as const;

/** Compile-time proof that the schemas are types.ts's shapes. */
export type AnswerSchemaChecks = [
  Assert<TypesMatch<z.infer<typeof applyResultSchema>, ApplyResult>>,
  Assert<TypesMatch<z.infer<typeof jobSummarySchema>, JobSummary>>,
  Assert<TypesMatch<z.infer<typeof taskViewSchema>, TaskView>>,
  Assert<TypesMatch<z.infer<typeof jobStatusSchema>, JobStatus>>,
  Assert<TypesMatch<z.infer<typeof jobMetricsViewSchema>, JobMetricsView>>,
  Assert<TypesMatch<z.infer<typeof planResultSchema>, PlanResult>>,
  Assert<TypesMatch<z.infer<typeof restartResultSchema>, RestartResult>>,
  Assert<TypesMatch<z.infer<typeof hostViewSchema>, HostView>>,
  Assert<TypesMatch<z.infer<typeof hostRemovalSchema>, HostRemoval>>,
  Assert<TypesMatch<z.infer<typeof peerTokenRotationSchema>, PeerTokenRotation>>,
  Assert<TypesMatch<z.infer<typeof clusterViewSchema>, ClusterView>>,
  Assert<TypesMatch<z.infer<typeof packageSummarySchema>, PackageSummary>>,
  Assert<TypesMatch<z.infer<typeof rolloutStatusSchema>, RolloutStatus>>,
  Assert<TypesMatch<z.infer<typeof hostChecksViewSchema>, HostChecksView>>,
  Assert<TypesMatch<z.infer<typeof remediationsViewSchema>, RemediationsView>>,
];
