// The stored shapes of jobs: what the server reads back from its store. Structural only (types, no
// limits): a spec is checked against its limits once, when applied (src/spec/canonical.ts); a stored
// spec that was valid then stays readable whatever the limits become. The hand-written types in job.ts
// keep their documentation; the assertions below fail to compile when a schema and its type drift.
import { z } from "zod";
import { Capabilities, Isolations, MetricSignalNames, Networks, SpreadDomains } from "./job.ts";
import type { AdaptPolicy, HealthCheck, JobRecord, MetricHealthCheck, MetricsEndpoint, JobSpec, JobVersion, PackagePin } from "./job.ts";
import { resourcesSchema } from "./resources.ts";
import { rolloutPolicySchema } from "./rollout.ts";
import { batchPolicySchema, schedulePolicySchema } from "./batch.ts";
import type { Assert, TypesMatch } from "./resources.ts";

const timing = {
  intervalMs: z.number(),
  timeoutMs: z.number(),
  failures: z.number(),
  graceMs: z.number(),
  action: z.enum(["restart", "move"]),
};

/** A health check (HealthCheck), structurally. */
export const healthCheckSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("http"), port: z.string(), path: z.string(), ...timing }),
  z.object({ kind: z.literal("tcp"), port: z.string(), ...timing }),
  z.object({ kind: z.literal("command"), run: z.array(z.string()), ...timing }),
]);

/** A metrics endpoint (MetricsEndpoint), structurally. */
export const metricsEndpointSchema = z.object({
  port: z.string(),
  path: z.string(),
  intervalMs: z.number(),
  timeoutMs: z.number(),
  signals: z.object({ clients: z.string().nullable(), errors: z.string().nullable(), latency: z.string().nullable() }),
  quantile: z.number(),
});

/** A metric health check (MetricHealthCheck), structurally. */
export const metricHealthCheckSchema = z.object({
  signal: z.enum(MetricSignalNames),
  when: z.enum(["above", "below"]),
  threshold: z.number(),
  forMs: z.number(),
  graceMs: z.number(),
  action: z.enum(["restart", "move"]),
});
const adaptBounds = z.object({ cpu: z.number().nullable(), memoryMiB: z.number().nullable() });
/** `resources.adapt` compiled (AdaptPolicy), structurally. */
export const adaptPolicySchema = z.object({ min: adaptBounds, max: adaptBounds, everyMs: z.number() });

/** One resolved package reference (PackagePin). */
export const packagePinSchema = z.object({ ref: z.string(), name: z.string(), version: z.string(), id: z.string() });

/** A JobSpec as stored: every field typed, no limits (those are checked at apply). */
export const storedJobSpecSchema = z.object({
  name: z.string(),
  namespace: z.string().exactOptional(),
  command: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  files: z.record(z.string(), z.object({ content: z.string(), mode: z.number() })),
  replicas: z.number(),
  everyHost: z.literal(true).exactOptional(),
  resources: resourcesSchema,
  constraints: z.object({
    os: z.object({ id: z.string(), version: z.string().nullable() }).nullable(),
    kernel: z.string().nullable(),
    labels: z.record(z.string(), z.string()),
  }),
  spread: z.enum(SpreadDomains),
  antiAffinity: z.string().nullable(),
  ports: z.array(z.string()),
  restart: z.object({ backoffInitialMs: z.number(), backoffMaxMs: z.number(), moveAfterFailures: z.number() }),
  health: healthCheckSchema.nullable(),
  stop: z.object({ signal: z.string(), graceMs: z.number(), delayMs: z.number().exactOptional() }),
  maintenance: z.enum(["move", "endure"]),
  maintenanceOverrunMs: z.number().exactOptional(),
  disruption: z.object({ approve: z.string(), timeoutMs: z.number(), onTimeout: z.enum(["wait", "allow"]) }).exactOptional(),
  disconnect: z.object({ stopAfterMs: z.number().nullable() }),
  packages: z.array(z.string()),
  isolation: z.enum(Isolations).exactOptional(),
  network: z.enum(Networks).exactOptional(),
  mounts: z.array(z.object({ host: z.string(), task: z.string(), writable: z.boolean() })).exactOptional(),
  capabilities: z.array(z.enum(Capabilities)).exactOptional(),
  persist: z.boolean().exactOptional(),
  metrics: metricsEndpointSchema.exactOptional(),
  metricChecks: z.array(metricHealthCheckSchema).exactOptional(),
  adapt: adaptPolicySchema.exactOptional(),
  pinned: z.array(packagePinSchema).exactOptional(),
  secretEnv: z.record(z.string(), z.string()).exactOptional(),
  secretFiles: z.record(z.string(), z.string()).exactOptional(),
  secretVersions: z.record(z.string(), z.number()).exactOptional(),
  rollout: rolloutPolicySchema.exactOptional(),
  uses: z.array(z.object({ service: z.string(), min: z.number() })).exactOptional(),
  services: z.record(z.string(), z.string()).exactOptional(),
  batch: batchPolicySchema.exactOptional(),
  schedule: schedulePolicySchema.exactOptional(),
});

/** A stored JobVersion (`/versions/<name>/<v>`). */
export const jobVersionSchema = z.object({
  name: z.string(),
  namespace: z.string().exactOptional(),
  version: z.number(),
  spec: storedJobSpecSchema,
  createdAt: z.number(),
  by: z.string().nullable().exactOptional(),
  message: z.string().nullable().exactOptional(),
});

/** A stored JobRecord (`/jobs/<name>`). */
export const jobRecordSchema = z.object({
  name: z.string(),
  version: z.number(),
  removedAt: z.number().nullable(),
  updatedAt: z.number(),
});

/** Compile-time proof that the schemas above and job.ts's types are the same shapes. */
export type JobSchemaChecks = [
  Assert<TypesMatch<z.infer<typeof packagePinSchema>, PackagePin>>,
  Assert<TypesMatch<z.infer<typeof healthCheckSchema>, HealthCheck>>,
  Assert<TypesMatch<z.infer<typeof metricsEndpointSchema>, MetricsEndpoint>>,
  Assert<TypesMatch<z.infer<typeof metricHealthCheckSchema>, MetricHealthCheck>>,
  Assert<TypesMatch<z.infer<typeof adaptPolicySchema>, AdaptPolicy>>,
  Assert<TypesMatch<z.infer<typeof storedJobSpecSchema>, JobSpec>>,
  Assert<TypesMatch<z.infer<typeof jobVersionSchema>, JobVersion>>,
  Assert<TypesMatch<z.infer<typeof jobRecordSchema>, JobRecord>>,
];
