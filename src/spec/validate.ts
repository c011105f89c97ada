// Validation in named phases, as CDK synthesizes: check each job's fields and the rules between them,
// then the rules between jobs of one file, then compile. Problems are values; nothing here throws.
import {
  envEntryProblem, execStringProblem, fileNameProblem, fileTreeConflicts, formatPath, isolationOf, requestSizeProblem,
} from "../model/index.ts";
import type { JobSpec, Problem } from "../model/index.ts";
import { hasBrand, defaultsBrand } from "./brand.ts";
import { jobSpecSchema } from "./canonical.ts";
import { crossChecks } from "./checks.ts";
import { compileJob } from "./compile.ts";
import { jobInputSchema } from "./input.ts";
import { boundProblems, issuesToProblems, problemAt, showValue } from "./problems.ts";
import { bakeProblem } from "./rollout-rules.ts";
import { batchPolicyProblems } from "./batch-rules.ts";
import { afterProblems } from "./batch-after-check.ts";
import { cronProblem, timeZoneProblem } from "./schedule-rules.ts";
import { rolloutChecksProblems } from "./rollout-checks.ts";
import type { Segment } from "./problems.ts";
import { usesNetworkProblem } from "./uses.ts";
import {
  adaptBoundsProblems, backoffProblem, duplicateMountTargets, healthTimingProblem, metricCheckProblems, kernelRangeProblem, needsSandbox, reservedEnv, scrapeTimingProblem, undeclaredPort, undeclaredPortRefs,
} from "./rules.ts";

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Validates and compiles one job as users wrote it; `prefix` is its place in the file. */
function compileOne(raw: unknown, prefix: Segment[], file: string | null): { spec: JobSpec | null; problems: Problem[] } {
  if (hasBrand(raw, defaultsBrand)) {
    return { spec: null, problems: [problemAt(file, prefix, raw, [], "this is a defaults(...) value, not a job: spread it into job({ ...defaults, name, command })")] };
  }
  if (!isPlainObject(raw)) {
    return { spec: null, problems: [problemAt(file, prefix, raw, [], "expected a job: job({ name, command, ... }) or a plain object")] };
  }
  const parsed = jobInputSchema.safeParse(raw);
  const problems = parsed.success ? [] : issuesToProblems(parsed.error.issues, raw, prefix, file);
  for (const c of crossChecks(raw)) {
    const p = problemAt(file, prefix, raw, c.path, c.message);
    problems.push(c.shown === undefined ? p : { ...p, value: c.shown });
  }
  let spec = parsed.success && problems.length === 0 ? compileJob(parsed.data) : null;
  const checks = spec?.rollout?.checks;
  if (spec && checks !== undefined) {
    // Between `rollout.checks` and the job's `metrics` (a comparison needs the endpoint, a signal its mapping).
    const rollout: unknown = raw.rollout;
    const written = isPlainObject(rollout) ? rollout.checks : undefined;
    problems.push(...rolloutChecksProblems(checks, spec.metrics ?? null, written, [...prefix, "rollout", "checks"], file));
    if (problems.length > 0) spec = null;
  }
  const tooLarge = spec ? requestSizeProblem(spec) : null;
  if (tooLarge !== null) {
    // The value would be the whole files object: the message says the sizes instead.
    problems.push({ file, path: formatPath([...prefix, "files"]), message: tooLarge, value: null });
    return { spec: null, problems };
  }
  return { spec, problems };
}

/**
 * Validates and compiles what a spec file exports: one job, or an array of jobs. Problems name
 * `file` and paths like `jobs[0].resources.memory` (or `resources.memory` for a single job); specs are
 * returned only for a file without problems, so a file is applied whole or not at all.
 */
export function compileJobs(value: unknown, file: string | null): { specs: JobSpec[]; problems: Problem[] } {
  const single = !Array.isArray(value);
  const items: unknown[] = Array.isArray(value) ? value : [value];
  const specs: JobSpec[] = [];
  const problems: Problem[] = [];
  if (value === undefined || value === null) {
    return { specs, problems: [{ file, path: "", message: "the file exports no job: `export default job({...})` or an array of jobs", value: null }] };
  }
  if (items.length === 0) return { specs, problems: [{ file, path: "", message: "the file exports an empty array of jobs", value: "[]" }] };
  const seen = new Map<string, number>();
  const specAt: number[] = [];
  items.forEach((raw, i) => {
    const prefix: Segment[] = single ? [] : ["jobs", i];
    const r = compileOne(raw, prefix, file);
    problems.push(...r.problems);
    if (r.spec) specs.push(r.spec);
    if (r.spec) specAt.push(i);
    const name = isPlainObject(raw) ? raw["name"] : undefined;
    if (typeof name === "string") {
      const first = seen.get(name);
      if (first === undefined) seen.set(name, i);
      else problems.push(problemAt(file, prefix, raw, ["name"], `job "${name}" is declared twice (first at jobs[${first}])`));
    }
  });
  for (const p of afterProblems(specs)) {
    const i = specAt[p.spec] ?? 0;
    problems.push(problemAt(file, single ? [] : ["jobs", i], items[i], ["batch", "after"], p.message));
  }
  return problems.length === 0 ? { specs, problems } : { specs: [], problems: boundProblems(problems) };
}

/** Checks a compiled JobSpec as a client sent it: strict shape, limits and the rules between fields. */
export function validateJobSpec(json: unknown): Problem[] {
  return checkJobSpec(json).problems;
}

/** A compiled JobSpec as a client sent it, with validateJobSpec's problems; the spec (as the strict
 * schema read it) only when there are none. */
export function checkJobSpec(json: unknown): { spec: JobSpec; problems: [] } | { spec: null; problems: Problem[] } {
  const parsed = jobSpecSchema.safeParse(json);
  if (!parsed.success) return { spec: null, problems: boundProblems(issuesToProblems(parsed.error.issues, json, [], null)) };
  const s = parsed.data;
  const out = specRuleProblems(s, json);
  return out.length === 0 ? { spec: s, problems: [] } : { spec: null, problems: boundProblems(out) };
}

/** The rules between a strictly read spec's fields (paths point into `json`, what was sent). */
function specRuleProblems(s: JobSpec, json: unknown): Problem[] {
  const out: Problem[] = [];
  const add = (path: Segment[], message: string | null): void => {
    if (message !== null) out.push(problemAt(null, [], json, path, message));
  };
  if (s.health) {
    if (s.health.kind !== "command") add(["health", "port"], undeclaredPort(s.health.port, s.ports));
    else for (const r of undeclaredPortRefs(s.health.run, s.ports)) add(["health", "run", r.index], r.message);
    add(["health", "timeoutMs"], healthTimingProblem(s.health.intervalMs, s.health.timeoutMs));
  }
  (s.metricChecks ?? []).forEach((c, i) => {
    for (const p of metricCheckProblems(c, s.metrics ?? null)) add(p.field === "" ? ["metricChecks", i] : ["metricChecks", i, p.field === "for" ? "forMs" : p.field], p.message);
  });
  if (s.rollout?.checks) {
    const sent: unknown = isPlainObject(json) && isPlainObject(json["rollout"]) ? json["rollout"]["checks"] : undefined;
    out.push(...rolloutChecksProblems(s.rollout.checks, s.metrics ?? null, sent, ["rollout", "checks"], null));
  }
  if (s.metrics) {
    add(["metrics", "port"], undeclaredPort(s.metrics.port, s.ports));
    add(["metrics", "timeoutMs"], scrapeTimingProblem(s.metrics.intervalMs, s.metrics.timeoutMs));
  }
  for (const r of undeclaredPortRefs(s.command, s.ports)) add(["command", r.index], r.message);
  s.command.forEach((a, i) => add(["command", i], execStringProblem(a, i === 0 ? "the program" : "an argument")));
  if (s.health?.kind === "command") s.health.run.forEach((a, i) => add(["health", "run", i], execStringProblem(a, "an argument")));
  for (const name of Object.keys(s.env)) add(["env", name], reservedEnv(name, s.ports));
  for (const name of Object.keys(s.secretEnv ?? {})) add(["secretEnv", name], name in s.env ? "set twice: in env and as a secret" : reservedEnv(name, s.ports));
  for (const [name, value] of Object.entries(s.env)) add(["env", name], envEntryProblem(name, value));
  const named = (path: string, message: string | null): void => {
    if (message !== null) out.push({ ...problemAt(null, [], json, ["files", path], message), value: showValue(path) });
  };
  for (const path of Object.keys(s.files)) named(path, fileNameProblem(path));
  for (const c of fileTreeConflicts(Object.keys(s.files))) named(c.path, c.message);
  add(["restart", "backoffInitialMs"], backoffProblem(s.restart.backoffInitialMs, s.restart.backoffMaxMs));
  if (s.adapt) for (const p of adaptBoundsProblems(s.adapt.min, s.adapt.max)) add(["adapt", "min", p.field === "cpu" ? "cpu" : "memoryMiB"], p.message);
  if (s.constraints.kernel !== null) add(["constraints", "kernel"], kernelRangeProblem(s.constraints.kernel));
  const iso = isolationOf(s);
  if (iso.network === "private") add(["network"], needsSandbox(iso.isolation, 'network "private"'));
  if (iso.mounts.length > 0) add(["mounts"], needsSandbox(iso.isolation, "mounts"));
  if (iso.capabilities.length > 0) add(["capabilities"], needsSandbox(iso.isolation, "capabilities"));
  if (iso.persist) add(["persist"], needsSandbox(iso.isolation, "persist"));
  add(["uses"], usesNetworkProblem(iso.network, s.uses?.length ?? 0));
  for (const [name, port] of Object.entries(s.services ?? {})) add(["services", name], undeclaredPort(port, s.ports));
  for (const d of duplicateMountTargets(iso.mounts)) add(["mounts", d.index, "task"], d.message);
  if (s.rollout) add(["rollout", "bakeMs"], bakeProblem(s.rollout.bakeMs, s.rollout.deadlineMs));
  // The server keeps an every-host job's count: a count beside it would say two things at once.
  if (s.batch) {
    for (const p of batchPolicyProblems(s.batch)) add(["batch", p.field === "success" ? "successCount" : p.field === "retries" ? "retries" : p.field], p.message);
    add(["replicas"], s.replicas !== 0 || s.everyHost === true ? `a batch job's tasks are its runs' items: its replicas must be 0, got ${s.everyHost === true ? "every-host" : s.replicas}` : null);
  }
  if (s.schedule) {
    add(["schedule"], s.batch ? null : "a schedule starts runs of a batch job: add a `batch` part");
    add(["schedule", "cron"], cronProblem(s.schedule.cron));
    add(["schedule", "timeZone"], timeZoneProblem(s.schedule.timeZone));
  }
  if (s.everyHost === true && s.replicas !== 0) add(["replicas"], `an every-host job runs one task per matching host: its replicas must be 0 (the spec's replicas: "every-host"), got ${s.replicas}`);
  return out;
}
