// Checks that relate fields of one job as users wrote it. They run on every field that parsed on its
// own, even when others did not, so one load reports every problem in the file at once.
import { jobInputSchema } from "./input.ts";
import type { ParsedJob } from "./input.ts";
import {
  adaptBoundsProblems, backoffProblem, duplicateMountTargets, extraProbes, MaxMetricChecks, healthTimingProblem, metricCheckProblems, kernelRangeProblem, needsSandbox, reservedEnv, scrapeTimingProblem, undeclaredPort, undeclaredPortRefs,
} from "./rules.ts";
import { showValue } from "./problems.ts";
import type { Segment } from "./problems.ts";
import { secretNameProblem } from "./secret-input.ts";
import { envEntryProblem, execStringProblem, fileNameProblem, fileTreeConflicts } from "../model/index.ts";
import { usesNetworkProblem } from "./uses.ts";

/** A cross-field problem: where, and why. */
export interface CrossProblem {
  path: Segment[];
  message: string;
  /** The value to show, when not the one at `path` (a file's name rather than its content). */
  shown?: string;
}

/** Parses each top-level field on its own; fields that fail are left out. */
export function parseFieldsSeparately(raw: Record<string, unknown>): Partial<ParsedJob> {
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(jobInputSchema.shape)) {
    const r = schema.safeParse(raw[key]);
    if (r.success) out[key] = r.data;
  }
  return out as Partial<ParsedJob>;
}

/** Problems between fields of one job (`raw` is a plain object). */
export function crossChecks(raw: Record<string, unknown>): CrossProblem[] {
  const j = parseFieldsSeparately(raw);
  const out: CrossProblem[] = [];
  const add = (path: Segment[], message: string | null): void => {
    if (message !== null) out.push({ path, message });
  };
  const { health, ports, restart, constraints, env, command, isolation, network, mounts, files, capabilities, persist, metrics, resources, uses } = j;
  // A string command was written as one string (run by /bin/sh -c): report it at its own path.
  const argvAt = (at: Segment[], argv: readonly string[], written: unknown): void => {
    if (typeof written === "string") add(at, execStringProblem(written, "the command"));
    else argv.forEach((a, i) => add([...at, i], execStringProblem(a, i === 0 ? "the program" : "an argument")));
  };
  if (command) argvAt(["command"], command, raw["command"]);
  // `health` is one check or a list; each with the path users wrote it at.
  const checks = health === undefined || health === null ? [] : Array.isArray(health) ? health.map((h, i) => ({ h, at: ["health", i] as Segment[] })) : [{ h: health, at: ["health"] as Segment[] }];
  const rawAt = (at: Segment[]): Record<string, unknown> => {
    const h = raw["health"];
    return (Array.isArray(h) ? h[Number(at[1])] : h) as Record<string, unknown>;
  };
  for (const { h, at } of checks) if (h.kind === "command") argvAt([...at, "run"], h.run, rawAt(at)["run"]);
  if (env) for (const [name, value] of Object.entries(env)) add(["env", name, ...(typeof value === "string" ? [] : ["secret"])], typeof value === "string" ? envEntryProblem(name, value) : secretNameProblem(value.secret));
  for (const [p, ref] of Object.entries(j.secretFiles ?? {})) add(["secretFiles", p, "secret"], secretNameProblem(ref.secret));
  if (files) {
    const named = (path: string, message: string | null): void => {
      if (message !== null) out.push({ path: ["files", path], message, shown: showValue(path) ?? "" });
    };
    for (const path of Object.keys(files)) named(path, fileNameProblem(path));
    for (const c of fileTreeConflicts(Object.keys(files))) named(c.path, c.message);
  }
  for (const { h, at } of checks) {
    if (h.kind === "metric") {
      const endpoint = metrics === undefined ? undefined : metrics === null ? null : { intervalMs: metrics.interval, signals: metrics.signals };
      // `for` left out defaults to at least three scrape intervals: only a written one can be too short.
      const forMs = h.for ?? Number.POSITIVE_INFINITY;
      if (endpoint !== undefined) for (const p of metricCheckProblems({ signal: h.signal, forMs }, endpoint)) add(p.field === "" ? at : [...at, p.field], p.message);
      continue;
    }
    if (h.kind !== "command" && ports) add([...at, "port"], undeclaredPort(h.port, ports));
    if (h.timeout !== undefined) add([...at, "timeout"], healthTimingProblem(h.every, h.timeout));
    if (h.kind === "command" && ports) {
      for (const r of undeclaredPortRefs(h.run, ports)) add([...at, "run", r.index], r.message);
    }
  }
  if (Array.isArray(health)) {
    for (const i of extraProbes(health.map((h) => h.kind))) add(["health", i], "at most one http, tcp or command check per job (it decides when a task serves); the others in the list must be metric checks");
    if (health.filter((h) => h.kind === "metric").length > MaxMetricChecks) add(["health"], `at most ${MaxMetricChecks} metric checks per job`);
  }
  if (metrics) {
    if (ports) add(["metrics", "port"], undeclaredPort(metrics.port, ports));
    if (metrics.timeout !== undefined) add(["metrics", "timeout"], scrapeTimingProblem(metrics.interval, metrics.timeout));
  }
  if (command && ports) for (const r of undeclaredPortRefs(command, ports)) add(["command", r.index], r.message);
  if (env && ports) for (const name of Object.keys(env)) add(["env", name], reservedEnv(name, ports));
  if (restart) add(["restart", "backoff", "initial"], backoffProblem(restart.backoff.initial, restart.backoff.max));
  if (resources?.adapt) {
    const { min, max } = resources.adapt;
    for (const p of adaptBoundsProblems({ cpu: min.cpu, memoryMiB: min.memory }, { cpu: max.cpu, memoryMiB: max.memory })) add(["resources", "adapt", "min", p.field], p.message);
  }
  if (constraints?.kernel) add(["constraints", "kernel"], kernelRangeProblem(constraints.kernel));
  if (isolation && network === "private") add(["network"], needsSandbox(isolation, 'network "private"'));
  if (isolation && mounts && mounts.length > 0) add(["mounts"], needsSandbox(isolation, "mounts"));
  if (isolation && capabilities && capabilities.length > 0) add(["capabilities"], needsSandbox(isolation, "capabilities"));
  if (isolation && persist) add(["persist"], needsSandbox(isolation, "persist"));
  if (uses) add(["uses"], usesNetworkProblem(network, uses.length));
  if (j.services && ports) for (const [name, port] of Object.entries(j.services)) add(["services", name], undeclaredPort(port, ports));
  if (mounts) for (const d of duplicateMountTargets(mounts)) add(["mounts", d.index, "task"], d.message);
  // A batch job's tasks are its runs' items, `batch.parallelism` at a time: a count beside it says two things.
  if (j.schedule && raw["batch"] === undefined) add(["schedule"], "a schedule starts runs of a batch job: add a `batch` part (a service runs all the time)");
  if (j.batch && raw["replicas"] !== undefined && raw["replicas"] !== 0) add(["replicas"], "a batch job's tasks are its runs' items: leave replicas out (or 0) and set batch.parallelism");
  return out;
}
