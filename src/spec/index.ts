// What users import in their spec files: `import { job, defaults, http, tcp, command } from "tiffin"`.
// Deliberately small and free of runtime dependencies: the types are job-input.ts's documented
// interfaces (checked against the zod schema in input.ts, type-only, erased at run time), and validation happens when the file is loaded,
// so every problem in a file is reported at once, with the file name and field path.
import { brand, defaultsBrand, jobBrand } from "./brand.ts";
import type { CommandHealthSpec, HealthCheckSpec, HttpHealthSpec, JobSpecInput, MetricHealthSpec, SecretRef, TcpHealthSpec } from "./job-input.ts";

export type { BatchInput, ScheduleInput } from "./batch-input-type.ts";
export type { AdaptBoundsInput, AdaptInput, CommandHealthSpec, HealthCheckSpec, HealthTiming, HttpHealthSpec, JobSpecInput, MetricHealthSpec, MountSpec, RolloutInput, RolloutPhaseInput, ScalarValue, ServiceUseInput, TcpHealthSpec } from "./job-input.ts";
export type { Duration, DurationUnit, Size } from "./units.ts";
export type { SecretRef } from "./job-input.ts";

/**
 * Everything a job spec may say. Only `name` and `command` are required; every field is documented
 * (hover it in an editor). Sizes ("256Mi") and durations ("2s") are typed, so a wrong unit is a type error.
 */
export type JobInput = JobSpecInput;
/** A job as `job()` returns it: the input unchanged, marked so the loader knows what it is. */
export type Job = Readonly<JobInput> & { readonly [jobBrand]: true };
/** Fields shared by many jobs (everything but `name`), spread into them with `...web`. */
export type JobDefaults = Omit<Partial<JobInput>, "name">;
/** A health check, as `http()`, `tcp()`, `command()` or `metric()` return it (a job's `health` takes one or a list). */
export type HealthInput = HealthCheckSpec;
/** Options of `http()`: `port` (a name from `ports`), `path` (default "/") and the timing fields. */
export type HttpHealthInput = Omit<HttpHealthSpec, "kind">;
/** Options of `tcp()`: `port` and the timing fields. */
export type TcpHealthInput = Omit<TcpHealthSpec, "kind">;
/** Options of `command()`: `run` (argv, or a string for /bin/sh -c) and the timing fields. */
export type CommandHealthInput = Omit<CommandHealthSpec, "kind">;
/** Options of `metric()`: `signal`, `above` or `below`, `for`, `then`, `grace`. */
export type MetricHealthInput = Omit<MetricHealthSpec, "kind">;

/** A secret by name, for `env` and `secretFiles`: `env: { DB_PASSWORD: secret("db") }`. The value is
 * set with `tiffin secret set default/db` and reaches only the tasks that use it. */
export function secret(name: string): SecretRef {
  return { secret: name };
}

/** Declares a job. Export it (or an array of jobs) as the default export of a spec file. */
export function job(input: JobInput): Job {
  return brand(input, jobBrand) as Job;
}

/**
 * Declares fields shared by many jobs. Spread it first so each job can override: `job({ ...web, name })`.
 * The spread is shallow: a job that sets `resources` replaces all of the defaults' `resources`.
 */
export function defaults(partial: JobDefaults): JobDefaults {
  return brand(partial, defaultsBrand);
}

/** An HTTP health check: GET `path` on a declared port; 2xx and 3xx answers are healthy. */
export function http(options: HttpHealthInput): HealthInput {
  return { kind: "http", ...options };
}

/** A TCP health check: a connection to a declared port succeeds. */
export function tcp(options: TcpHealthInput): HealthInput {
  return { kind: "tcp", ...options };
}

/** A command health check, run in the task's sandbox: exit status 0 is healthy. */
export function command(options: CommandHealthInput): HealthInput {
  return { kind: "command", ...options };
}

/**
 * A metric health check on the job's `metrics` signals: `metric({ signal: "errors", above: 5, for: "30s" })`
 * restarts a task whose errors stay above 5 per second for 30 s. List it with other checks:
 * `health: [http({ port: "http" }), metric({...})]`.
 */
export function metric(options: MetricHealthInput): HealthInput {
  return { kind: "metric", ...options };
}
