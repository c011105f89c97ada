// The zod schema of what users write in a spec. One source for three things: the TypeScript types
// users import (z.input), the validator (every problem at once, with field paths) and the JSON Schema
// (z.toJSONSchema with io "input"). Its output has units resolved (ms, MiB, "SIGTERM"); compile.ts
// reshapes that output into the canonical JobSpec.
import { z } from "zod";
import { durationMs } from "./duration-schema.ts";
import { Capabilities, EveryHost, Isolations, MetricSignalNames, Networks, SpreadDomains } from "../model/index.ts";
import { DefaultNamespace, namespacePattern } from "../model/index.ts";
import {
  kernelRangePattern, normalizeSignal, parseSize, sizePattern, StopSignals,
} from "./units.ts";
import type { Size } from "./units.ts";
import { rolloutInputSchema } from "./rollout-input.ts";
import { MaxUseMin, MaxUses } from "./uses.ts";
import { batchInputSchema } from "./batch-input.ts";
import { scheduleInputSchema } from "./schedule-input.ts";

/** DNS-label job names: they appear in task ids, URLs, host paths and DNS. */
export const jobNamePattern = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A service a job uses (`uses`): `NAME` of the job's own namespace, or `NS/NAME` of another. */
export const serviceRefPattern = /^(?:[a-z0-9][a-z0-9-]{0,62}\/)?[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Port names: lower case, so `PORT_<NAME>` (upper-cased) is a valid, unambiguous env var. */
export const portNamePattern = /^[a-z][a-z0-9_]{0,30}$/;
/** Environment variable names. */
export const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Package references: `name:version` or `name:tag`. */
export const packageRefPattern = /^[a-z0-9][a-z0-9._-]*:[A-Za-z0-9._-]+$/;
/** Tags and label keys: short, printable, no spaces. */
export const tagPattern = /^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,62})$/;
/** OS ids as in /etc/os-release `ID` ("debian", "ubuntu"). */
export const osIdPattern = /^[a-z0-9][a-z0-9._-]*$/;

const durationMessage = 'expected a duration such as "200ms", "2s", "1m" or "1h30m"';
const sizeMessage = 'expected a size such as "256Mi" or "4Gi", or a whole number of MiB';

/** A duration string, resolved to milliseconds; at least `minMs`. */
/** A duration string, resolved to milliseconds; at least `minMs`. */
const duration = (minMs: number, maxMs = 24 * 3_600_000) => durationMs(minMs, maxMs, durationMessage);

/** A size string or a whole number of MiB, resolved to MiB. */
const size = z
  .union(
    [
      z.number().int({ error: sizeMessage }).positive({ error: "must be positive" }),
      // Typed as the template literal `Size` ("256Mi") users see; the regex is the runtime rule.
      z.string().regex(sizePattern, { error: `${sizeMessage} (binary units: Mi, Gi, Ti)` }) as unknown as z.ZodType<Size, Size>,
    ],
    { error: sizeMessage },
  )
  .transform((v, ctx) => {
    const mib = typeof v === "number" ? v : parseSize(v);
    if (mib === null || mib <= 0) {
      ctx.issues.push({ code: "custom", input: v, message: "must be a positive whole number of MiB" });
      return z.NEVER;
    }
    return mib;
  });

/** An argv, or one string run through `/bin/sh -c`. */
function argv(what: string) {
  return z
    .union(
      [
        z
          .array(z.string())
          .min(1, { error: `${what} must name a program` })
          .superRefine((a, ctx) => {
            if (a[0] === "") ctx.addIssue({ code: "custom", path: [0], message: "the program name must not be empty" });
          }),
        z.string().min(1, { error: `${what} must not be empty` }),
      ],
      { error: `expected ${what} as an array of strings (argv), or one string for /bin/sh -c` },
    )
    .transform((v) => (typeof v === "string" ? ["/bin/sh", "-c", v] : v));
}

/** Env and label values: numbers and booleans are written as strings, as YAML users expect. */
const scalar = z
  .union([z.string(), z.number(), z.boolean()], { error: "expected a string (or a number or boolean)" })
  .transform((v) => String(v));

const fileMode = z
  .union(
    [z.number().int().min(0).max(0o7777), z.string().regex(/^0?[0-7]{3,4}$/, { error: 'expected an octal mode such as "0644"' })],
    { error: 'expected a file mode: a number such as 0o644, or a string such as "0644"' },
  )
  .transform((v) => (typeof v === "number" ? v : parseInt(v, 8)));

import { secretRefInput } from "./secret-input.ts";

const filePath = z
  .string()
  .refine((p) => p !== "" && !p.startsWith("/") && !p.split("/").some((s) => s === ".." || s === ""), {
    error: "file paths are relative to the work directory, without '..' or empty parts",
  });

const fileEntry = z
  .union([
    z.string().max(1 << 20, { error: "file content is limited to 1 MiB (and a job with its files to 1 MiB in all): ship larger files in a package" }),
    z.strictObject({ content: z.string().max(1 << 20, { error: "file content is limited to 1 MiB (and a job with its files to 1 MiB in all): ship larger files in a package" }), mode: fileMode.prefault(0o644) }),
  ], { error: "expected file content as a string, or { content, mode }" })
  .transform((v) => (typeof v === "string" ? { content: v, mode: 0o644 } : v));

const portName = z.string().regex(portNamePattern, {
  error: "port names are lower case letters, digits and _, starting with a letter (handed over as PORT_<NAME>)",
});

const ports = z
  .union([z.record(portName, z.strictObject({})), z.array(portName)], {
    error: "expected ports as { name: {} } or a list of names",
  })
  .superRefine((p, ctx) => {
    const names = Array.isArray(p) ? p : Object.keys(p);
    if (names.length > 16) ctx.addIssue({ code: "custom", message: "at most 16 ports" });
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) ctx.addIssue({ code: "custom", path: [i], message: `port "${n}" is listed twice` });
    });
  })
  .transform((p) => (Array.isArray(p) ? p : Object.keys(p)));

const healthTiming = {
  every: duration(100).prefault("10s").describe("Time between checks."),
  // No fixed default: `every: "1s"` with a 2 s timeout would be refused (timeout <= every), so the
  // default is 2s or the interval, whichever is shorter (compile.ts, defaultHealthTimeoutMs).
  timeout: duration(1).optional().describe("How long one check may take (default: 2s, or `every` when that is shorter)."),
  failures: z.number().int().min(1).max(100).default(3).describe("Consecutive failures before `then`."),
  then: z.enum(["restart", "move"]).default("restart").describe("What to do after `failures` failures."),
  grace: duration(0).prefault("5s").describe("Time after start during which failures are not counted."),
};

/** An HTTP health check: GET `path` on a declared port; a 2xx or 3xx answer is healthy. */
export const httpHealthSchema = z.strictObject({
  kind: z.literal("http"),
  port: z.string().describe("A port name from `ports`."),
  path: z.string().startsWith("/", { error: 'the path must start with "/"' }).default("/"),
  ...healthTiming,
});
/** A TCP health check: a connection to a declared port succeeds. */
export const tcpHealthSchema = z.strictObject({
  kind: z.literal("tcp"),
  port: z.string().describe("A port name from `ports`."),
  ...healthTiming,
});
/** A command health check: the command exits 0. */
export const commandHealthSchema = z.strictObject({ kind: z.literal("command"), run: argv("run"), ...healthTiming });

/** A metric health check: the task's signal beyond a threshold for a while (`metric({...})`). */
export const metricHealthSchema = z
  .strictObject({
    kind: z.literal("metric"),
    signal: z.enum(MetricSignalNames, { error: 'expected a signal: "clients", "errors" or "latency"' }).describe("Which of the job's `metrics.signals`."),
    above: z.number().min(0, { error: "expected a threshold of 0 or more" }).optional().describe("Breached when the signal is above this (clients, errors per second, seconds)."),
    below: z.number().min(0, { error: "expected a threshold of 0 or more" }).optional().describe("Breached when the signal is below this."),
    // No fixed default: "1m" with a 90 s scrape interval would be refused, so the default is 1m or
    // three scrape intervals, whichever is longer (compile.ts, defaultMetricForMs).
    for: duration(1000).optional().describe("How long the breach must last; at least the scrape interval (default: 1m, or 3 scrape intervals when longer)."),
    then: z.enum(["restart", "move"]).default("restart").describe("What to do then."),
    grace: duration(0).prefault("30s").describe("Time after start during which the check is not evaluated."),
  })
  .superRefine((m, ctx) => {
    if ((m.above === undefined) === (m.below === undefined)) {
      ctx.addIssue({ code: "custom", path: [m.above === undefined ? "above" : "below"], message: "set exactly one of `above` and `below`" });
    }
    if (m.below === 0) {
      ctx.addIssue({ code: "custom", path: ["below"], message: 'nothing is below 0 (clients, errors per second and seconds never are), so this check could never fire: for "at 0" write below: 1' });
    }
  });

const healthOne = z.discriminatedUnion("kind", [httpHealthSchema, tcpHealthSchema, commandHealthSchema, metricHealthSchema], {
  error: 'expected a health check: http({...}), tcp({...}), command({...}) or metric({...}) (kind "http", "tcp", "command" or "metric")',
});

/** At most this many health checks in a job's list (one probe, the rest metric checks). */
export const MaxHealthChecks = 9;

// One check, or a list of them: at most one probe (http, tcp or command: it also decides readiness)
// and any number of metric checks (checks.ts says so at the field path).
const health = z.union([healthOne, z.array(healthOne).min(1, { error: "an empty list: write null for no health check" }).max(MaxHealthChecks)]);

/** Prometheus metric names. */
export const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const metricName = z
  .string()
  .regex(metricNamePattern, { error: "expected a Prometheus metric name: letters, digits, _ and :, not starting with a digit" })
  .nullable()
  .default(null);

/** A task's metrics endpoint (Prometheus text or OpenMetrics, gzip or not), scraped by its agent. */
export const metricsSchema = z.strictObject({
  port: z.string().describe("A port name from `ports`."),
  path: z.string().startsWith("/", { error: 'the path must start with "/"' }).default("/metrics"),
  interval: duration(1000, 3_600_000).prefault("10s").describe("Time between scrapes."),
  timeout: duration(1).optional().describe("How long one scrape may take (default: 5s, or `interval` when that is shorter)."),
  signals: z
    .strictObject({
      clients: metricName.describe("A gauge of connected clients."),
      errors: metricName.describe("A counter of errors (exceptions); its rate is shown."),
      latency: metricName.describe("A histogram or summary of reply times in seconds; `quantile` of it is shown."),
    })
    .prefault({})
    .describe("The job's metric names for Tiffin's three signals."),
  quantile: z.number().gt(0).lt(1).default(0.99).describe("The latency quantile shown, e.g. 0.99."),
});

const adaptBound = z
  .strictObject({
    cpu: z.number().positive().max(1024).nullable().default(null).describe("Cores."),
    memory: size.nullable().default(null).describe('"256Mi", "4Gi", or a whole number of MiB.'),
  })
  .prefault({});

/** `resources.adapt`: the server applies recommendations itself, within bounds. */
export const adaptSchema = z.strictObject({
  min: adaptBound.describe("The least cpu and memory the server may set."),
  max: adaptBound.describe("The most cpu and memory the server may set."),
  every: duration(1000, 30 * 24 * 3_600_000).prefault("6h").describe("At most one adapted version per this long."),
});

/** Why `p` is not a clean absolute path, or null. Shared with the strict JobSpec check. */
export function absolutePathProblem(p: string): string | null {
  if (!p.startsWith("/")) return "expected an absolute path (starting with /)";
  if (p.length > 1024) return "paths are limited to 1024 characters";
  if (p.includes("\0")) return "paths may not contain NUL";
  if (p !== "/" && (p.endsWith("/") || p.split("/").slice(1).some((s) => s === "" || s === "." || s === ".."))) {
    return "expected a normalized path: no '.', '..', empty parts or trailing /";
  }
  return null;
}

/** Why a task-side mount path is not allowed, or null: the sandbox owns /, /proc, /dev and /sys. */
export function mountTargetProblem(p: string): string | null {
  if (p === "/") return "cannot mount over the task's root";
  const reserved = ["/proc", "/dev", "/sys"].find((r) => p === r || p.startsWith(`${r}/`));
  return reserved ? `${reserved} is set up by the sandbox and cannot be mounted over` : null;
}

const absPath = z.string({ error: "expected an absolute path" }).superRefine((p, ctx) => {
  const problem = absolutePathProblem(p);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A bind mount into a sandboxed task. */
export const mountSchema = z.strictObject({
  host: absPath.describe("Absolute path on the host."),
  task: absPath
    .superRefine((p, ctx) => {
      const problem = absolutePathProblem(p) === null ? mountTargetProblem(p) : null;
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .describe("Absolute path the task sees."),
  writable: z.boolean().default(false).describe("Read-only unless true; the agent's --allow-mounts must cover the host path."),
});

const labels = z.record(z.string().regex(tagPattern, { error: "label keys are letters, digits, '.', '_', '-', '/'" }), scalar);

/** What users write for one job. Everything but `name` and `command` has a default. Field docs: job-input.ts. */
export const jobInputSchema = z
  .strictObject({
    name: z.string().regex(jobNamePattern, {
      error: "job names are DNS labels: lower case letters, digits and '-', starting with a letter, at most 63 characters",
    }),
    namespace: z
      .string()
      .regex(namespacePattern, { error: "namespaces are DNS labels: lower case letters, digits and '-', at most 63 characters" })
      .default(DefaultNamespace)
      .describe('The namespace the job lives in (`tiffin -n NS`); jobs of two namespaces may share a name.'),
    command: argv("command").describe("argv; `${TASK_INDEX}` and `${PORT_<NAME>}` are expanded per task."),
    env: z.record(z.string().regex(envNamePattern, { error: "env names are letters, digits and _, not starting with a digit" }), z.union([scalar, secretRefInput], { error: 'expected a string (or a number or boolean), or secret("NAME")' })).default(() => ({})),
    files: z.record(filePath, fileEntry).default(() => ({})).describe("Files written into the work directory before the start."),
    secretFiles: z.record(filePath, secretRefInput).default(() => ({})).describe("Secrets as files (owner-only), by path relative to the work directory's secrets/ folder."),
    replicas: z
      .union([z.number().int().min(0).max(10_000), z.literal(EveryHost, { error: `expected a task count (0 to 10000) or "${EveryHost}"` })], {
        // Both branches refused the value's type.
        error: (iss) => typeof iss.input === "number" && !Number.isFinite(iss.input) ? `expected a finite number, got ${iss.input}` : `expected a whole number from 0 to 10000, or "${EveryHost}"`,
      })
      .default(1)
      .describe(`How many tasks run the job, or "${EveryHost}": one on each host matching the constraints.`),
    resources: z
      .strictObject({
        cpu: z.number().positive().max(1024).default(0.1).describe("Cores, e.g. 0.5 or 2."),
        memory: size.prefault("128Mi"),
        disk: size.prefault("256Mi"),
        adapt: adaptSchema.nullable().default(null).describe("Apply the recommender's cpu and memory as new versions, within min..max (`tiffin recommend`)."),
      })
      .prefault({}),
    ports: ports.prefault([]).describe("Named ports, allocated per task and handed over as PORT_<NAME>."),
    health: health.nullable().default(null).describe("A health check, or a list: at most one of http/tcp/command, and metric checks."),
    metrics: metricsSchema.nullable().default(null).describe("A Prometheus endpoint the agent scrapes: `tiffin top`, `GET /v1/jobs/:name/metrics`."),
    restart: z
      .strictObject({
        backoff: z
          .strictObject({ initial: duration(1).prefault("1s"), max: duration(1).prefault("1m") })
          .prefault({}),
        moveAfterFailures: z.number().int().min(1).max(1000).default(5).describe("Failed starts on one host before moving."),
      })
      .prefault({}),
    stop: z
      .strictObject({
        signal: z
          .string()
          .refine((s) => normalizeSignal(s) !== null, { error: `expected a signal name: ${StopSignals.join(", ")}` })
          .transform((s) => normalizeSignal(s) ?? s)
          .prefault("SIGTERM"),
        grace: duration(0, 3_600_000).prefault("10s").describe("Time between the signal and SIGKILL."),
        delay: duration(0, 3_600_000).optional().describe("On a planned stop of a task serving an endpoint: time between its endpoint's removal and the signal (default 2s for a job with ports)."),
      })
      .prefault({}),
    constraints: z
      .strictObject({
        os: z
          .union(
            [
              z.string().regex(osIdPattern, { error: "expected an OS id such as \"debian\"" }),
              z.strictObject({ id: z.string().regex(osIdPattern), version: z.string().min(1).nullable().default(null) }),
            ],
            { error: 'expected an OS id such as "debian", or { id, version }' },
          )
          .transform((v) => (typeof v === "string" ? { id: v, version: null } : v))
          .nullable()
          .default(null),
        kernel: z
          .string()
          .regex(kernelRangePattern, { error: 'expected a kernel version range such as ">=6.1" or ">=5.10 <7"' })
          .nullable()
          .default(null),
        labels: labels.default(() => ({})),
      })
      .prefault({}),
    spread: z.enum(SpreadDomains).default("rack").describe("Failure-domain level to spread tasks across."),
    antiAffinity: z
      .string()
      .regex(tagPattern, { error: "expected a tag: letters, digits, '.', '_', '-', '/'" })
      .nullable()
      .default(null)
      .describe("At most one task carrying this tag per rack, across all jobs."),
    maintenance: z.enum(["move", "endure"]).default("move"),
    maintenanceOverrun: duration(0, 7 * 24 * 3_600_000).optional().describe('An "endure" job: how long its tasks wait for their host after a window\'s end while the host is not back; then they are placed elsewhere (default 15m).'),
    disruption: z
      .strictObject({
        approve: z.string().refine((u) => /^https?:\/\//.test(u) && URL.canParse(u), { error: "expected an http:// or https:// URL" }).describe("Where the server asks before it disrupts a task (drain, maintenance)."),
        timeout: duration(1, 60_000).prefault("2s").describe("How long an answer may take."),
        onTimeout: z.enum(["wait", "allow"]).default("wait").describe("No answer in time: hold the task (wait) or go ahead (allow)."),
      })
      .nullable()
      .default(null),
    disconnect: z
      .strictObject({
        stopAfter: duration(1000)
          .nullable()
          .default(null)
          .describe("Stop tasks this long after their agent loses the server; null keeps them running."),
      })
      .prefault({}),
    packages: z
      .array(z.string().regex(packageRefPattern, { error: 'expected a package reference such as "frontend:stable" or "frontend:1.4.2"' }))
      .default(() => []),
    isolation: z
      .enum(Isolations)
      .default("sandbox")
      .describe('"sandbox": an OCI container (namespaces, cgroup limits, read-only host files); "none": a plain process.'),
    network: z.enum(Networks).default("host").describe('"private": a network namespace with loopback only (needs isolation "sandbox").'),
    mounts: z
      .array(mountSchema)
      .max(32, { error: "at most 32 mounts" })
      .default(() => [])
      .describe("Host paths bound into the sandbox (needs isolation \"sandbox\")."),
    capabilities: z
      .array(
        z
          .string()
          .transform((c) => (c.toUpperCase().startsWith("CAP_") ? c.toUpperCase() : `CAP_${c.toUpperCase()}`))
          .pipe(z.enum(Capabilities, { error: 'expected a Linux capability such as "NET_BIND_SERVICE"' })),
      )
      .default(() => [])
      .describe("Linux capabilities the sandboxed task keeps (it runs unprivileged, with none, by default); each must be allowed by the agent (--allow-capabilities)."),
    persist: z
      .boolean()
      .default(false)
      .describe("Keep each task's private /var and /home across its attempts on the same host (needs isolation \"sandbox\")."),
    rollout: rolloutInputSchema.nullable().default(null).describe("How a new version replaces the tasks: phases, bake, deadline, budget, on failure."),
    uses: z
      .array(
        z.union(
          [
            z.string().regex(serviceRefPattern, { error: "expected a service: a job's name or one of its named services, NS/NAME for another namespace's" }),
            z.strictObject({
              service: z.string().regex(serviceRefPattern, { error: "expected a service: a job's name or one of its named services, NS/NAME for another namespace's" }),
              min: z.number().int().min(0).max(MaxUseMin).default(1).describe("Endpoints that must serve before a task starts."),
            }),
          ],
          { error: 'expected a service name such as "cache", or { service, min }' },
        ).transform((u) => (typeof u === "string" ? { service: u, min: 1 } : u)),
      )
      .max(MaxUses, { error: `at most ${MaxUses} services` })
      .superRefine((uses, ctx) => {
        uses.forEach((u, i) => {
          if (uses.findIndex((o) => o.service === u.service) !== i) ctx.addIssue({ code: "custom", path: [i], message: `service "${u.service}" is listed twice` });
        });
      })
      .default(() => [])
      .describe("Services the tasks use: each starts once they serve (`min` endpoints, default 1), reached at TIFFIN_SERVICE_<NAME>."),
    services: z
      .record(z.string().regex(jobNamePattern, { error: "a service name is lower case letters, digits and -, like a job's name (it is a DNS label)" }), portName)
      .refine((s) => Object.keys(s).length > 0, { error: "name at least one service, or leave services out (one service named after the job)" })
      .nullable()
      .default(null)
      .describe("Named services: service name -> one of `ports` (each with its own endpoints, DNS name and proxy). Default: one service named after the job offering every port."),
    schedule: scheduleInputSchema.nullable().default(null).describe("A batch job's runs started by the leading server at every fire of a cron expression."),
    batch: batchInputSchema.nullable().default(null).describe("A batch job: it runs to completion once per run (`tiffin run`): items, parallelism, retries, deadline, success policy."),
  })
  .meta({ id: "Job", title: "Tiffin job", description: "One Tiffin job as users write it." });

/** A job as users write it (the input of `job()`). */
export type JobInputSchema = typeof jobInputSchema;
/** A job after field validation, units resolved. */
export type ParsedJob = z.output<typeof jobInputSchema>;
