// Turns an assignment into the helper's config (pure): placeholders expanded, the task's environment
// assembled from a few basics of the agent's own, the job's env and Tiffin's variables.

import { splitJobId } from "../model/index.ts";
import type { Assignment } from "../api/types.ts";
import type { HelperConfig, SandboxConfig } from "../helper/protocol.ts";
import { taskId } from "../model/index.ts";
import { packageEnvVar } from "../pkg/index.ts";
import type { ServiceWiring } from "./services/local-services.ts";

/** Log segment size before rotation. */
export const LOG_SEGMENT_BYTES = 8 * 1024 * 1024;
/** Log segments kept per stream. */
export const LOG_SEGMENTS_KEPT = 5;

/** The folder of the work directory where secret files appear (`secretFiles`). */
export { SecretFilesDir } from "../helper/secrets-dir.ts";

/** Variables passed through from the agent's environment; everything else is the job's business. */
export const BASIC_ENV = ["PATH", "LANG", "LC_ALL", "HOME", "USER", "LOGNAME", "TZ", "TMPDIR"] as const;

/** `PORT_<NAME>`: the port name upper-cased, anything but letters, digits and _ made _. */
export function portVar(name: string): string {
  return `PORT_${name.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}`;
}

/** Replaces `${NAME}` for each known variable; unknown placeholders stay as they are. */
export function expand(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => vars[name] ?? whole);
}

/** What `helperConfig` needs besides the assignment. */
export interface ConfigContext {
  ports: Record<string, number>;
  hostName: string;
  fenceMs: number;
  /** The agent's environment (only BASIC_ENV is taken from it). */
  agentEnv: Record<string, string | undefined>;
  /** The attempt's sandbox (isolation.ts `sandboxFor`); absent or null runs it plain. */
  sandbox?: SandboxConfig | null;
  /** Unpacked package trees on the host by package name (packages.ts). @default {} */
  packages?: Record<string, string>;
  /** HelperConfig.runAs: who a task without a sandbox runs as (isolation.ts `plainTaskUser`). */
  runAs?: { uid: number; gid: number };
  /** HelperConfig.secretsDir: where the attempt's secrets wait for its helper (secretValues). */
  secretsDir?: string;
  /** HelperConfig.notice. */
  notice?: string;
  /** The addresses of the services the job uses and its services file (services/local-services.ts). */
  services?: ServiceWiring;
}

/** Builds the HelperConfig for one assignment. */
export function helperConfig(a: Assignment, ctx: ConfigContext): HelperConfig {
  const { attempt, spec } = a;
  const tiffinVars: Record<string, string> = {
    TASK_INDEX: String(attempt.index),
    // As users name the task (`tiffin logs web/0`), with the namespace apart: never the id `web.team-a/0`.
    TASK_ID: taskId(splitJobId(attempt.job).name, attempt.index),
    JOB_NAME: splitJobId(attempt.job).name,
    JOB_NAMESPACE: splitJobId(attempt.job).namespace,
    JOB_VERSION: String(attempt.version),
    ATTEMPT_ID: attempt.id,
    HOST_NAME: ctx.hostName,
  };
  for (const [name, port] of Object.entries(ctx.ports)) tiffinVars[portVar(name)] = String(port);
  // A batch item (issue 18): its run, index and work item, and the run's dispatch parameters.
  if (attempt.batch) {
    tiffinVars["TIFFIN_RUN"] = attempt.batch.run;
    tiffinVars["TIFFIN_ITEM_INDEX"] = String(attempt.batch.item);
    tiffinVars["TIFFIN_ITEM"] = attempt.batch.value;
    for (const [k, v] of Object.entries(attempt.batch.params)) tiffinVars[`TIFFIN_PARAM_${k.toUpperCase()}`] = v;
  }
  const env: Record<string, string> = {};
  // A sandboxed task is not the agent's user: the agent's HOME (often /root) is not even there; the
  // sandbox gives it HOME=/home, its private home (sandbox-config.ts).
  // Nor is a plain task run as the task user (the helper gives it HOME=its work dir).
  const skip: readonly string[] = ctx.sandbox || ctx.runAs ? ["HOME", "USER", "LOGNAME"] : [];
  for (const k of BASIC_ENV) {
    const v = ctx.agentEnv[k];
    if (v !== undefined && !skip.includes(k)) env[k] = v;
  }
  // The job's values may use the same placeholders as the command (e.g. URL=http://x:${PORT_HTTP}).
  for (const [k, v] of Object.entries(spec.env)) env[k] = expand(v, tiffinVars);
  Object.assign(env, tiffinVars, ctx.services?.env ?? {});
  // A sandboxed task sees each package read-only at /packages/<name>; a plain one gets the host path.
  const sandbox = ctx.sandbox ? { ...ctx.sandbox, mounts: [...ctx.sandbox.mounts] } : null;
  for (const [name, hostPath] of Object.entries(ctx.packages ?? {})) {
    const taskPath = sandbox ? `/packages/${name}` : hostPath;
    env[packageEnvVar(name)] = taskPath;
    sandbox?.mounts.push({ host: hostPath, task: taskPath, writable: false });
  }
  const files: HelperConfig["files"] = {};
  for (const [path, f] of Object.entries(spec.files)) files[path] = { content: f.content, mode: f.mode };
  for (const [path, f] of Object.entries(ctx.services?.files ?? {})) files[path] = f;
  return {
    attemptId: attempt.id,
    job: attempt.job,
    index: attempt.index,
    command: spec.command.map((arg) => expand(arg, tiffinVars)),
    env,
    files,
    ports: { ...ctx.ports },
    health: spec.health,
    stop: { signal: spec.stop.signal, graceMs: spec.stop.graceMs },
    fenceMs: ctx.fenceMs,
    logSegmentBytes: LOG_SEGMENT_BYTES,
    logSegmentsKept: LOG_SEGMENTS_KEPT,
    sandbox,
    ...(ctx.runAs && !sandbox ? { runAs: { ...ctx.runAs } } : {}),
    ...(ctx.secretsDir !== undefined ? { secretsDir: ctx.secretsDir } : {}),
    ...(ctx.notice !== undefined ? { notice: ctx.notice } : {}),
    // The spec's disk is a limit on the work directory, watched by the helper.
    ...(spec.resources.diskMiB > 0 ? { diskLimitMiB: Math.ceil(spec.resources.diskMiB) } : {}),
  };
}

/** The secret values of an attempt: env vars and files (paths under work/secrets). Never in attempt.json. */
export interface SecretValues {
  env: Record<string, string>;
  files: Record<string, string>;
}

/** The secret values an assignment's task gets (issue 17), or null when it uses none. Pure. They came
 * in this assignment only; they are never expanded, logged or written to the data dir: the agent hands
 * them to the helper through a tmpfs file (secrets-dir.ts) that the helper removes once read. */
export function secretValues(a: Assignment): SecretValues | null {
  const out: SecretValues = { env: {}, files: {} };
  const value = (name: string): string | undefined => {
    const v = a.secrets?.[name];
    return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
  };
  for (const [k, name] of Object.entries(a.spec.secretEnv ?? {})) {
    const v = value(name);
    if (v !== undefined) out.env[k] = v;
  }
  for (const [p, name] of Object.entries(a.spec.secretFiles ?? {})) {
    const v = value(name);
    if (v !== undefined) out.files[p] = v;
  }
  return Object.keys(out.env).length + Object.keys(out.files).length > 0 ? out : null;
}
