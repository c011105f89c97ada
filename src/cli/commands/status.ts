// `tiffin status JOB`: the job's tasks, where they run and in what state.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { JobStatus, TaskView } from "../../api/types.ts";
import type { ResourceUsage } from "../../model/index.ts";
import { formatDuration, formatSize } from "../../spec/api.ts";
import type { CliContext } from "../command.ts";
import { outputFormat, outputOption, renderOutput } from "../output.ts";
import type { OutputOpts } from "../output.ts";
import { formatTime, renderTable } from "../table.ts";

/** Fetches the job's status. */
export function statusHandler(client: ApiClient, job: string): Promise<JobStatus> {
  return client.job(job);
}

/** `http=31002,admin=31003`. */
export function formatPorts(ports: Record<string, number>): string {
  return Object.entries(ports)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** CPU (cores, 2 decimals) and memory (MiB now, and the peak) of a sample; "-" without one or once ended. */
export function formatUsage(u: ResourceUsage | null, state: TaskView["state"]): [string, string] {
  if (!u || !["running", "healthy", "unhealthy", "starting"].includes(state)) return ["-", "-"];
  const mib = (b: number): string => (b / (1024 * 1024)).toFixed(b < 10 * 1024 * 1024 ? 1 : 0);
  const cpu = u.cpuCores === null ? "-" : u.cpuCores.toFixed(2);
  return [cpu, `${mib(u.memoryBytes)} MiB${u.memoryPeakBytes === null ? "" : ` (peak ${mib(u.memoryPeakBytes)})`}`];
}

/** How the task's previous attempt (the newest ended one that is not current) ended: "SIGKILL",
 * "exit 3", "stopped (SIGTERM)", "lost", "metric: errors above 5 for 30s (12.3 at 10:04:05)" (which
 * check, the value that fired it and when); "-" without one. What `kill -9` of a task shows. */
export function formatPrevious(t: TaskView): string {
  const prev = t.attempts
    .filter((a) => a.id !== t.attemptId && ["exited", "stopped", "failed", "lost"].includes(a.state))
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))[0];
  if (!prev) return "-";
  if (prev.endCause === "metric" && prev.metricAction) {
    const m = prev.metricAction;
    return `metric: ${m.condition} (${Number.isInteger(m.value) ? m.value : m.value.toPrecision(3)} at ${formatTime(m.firedAt).slice(11)})`;
  }
  const how = prev.signal ?? (prev.exitCode === null ? null : `exit ${prev.exitCode}`);
  if (prev.state === "stopped" || prev.state === "lost") return how === null ? prev.state : `${prev.state} (${how})`;
  return how ?? prev.state;
}

/** The reason column. For a metric check that fired on the current attempt: which check, the value
 * and when it fired, and what became of its action: "held back by the job's disruption budget since
 * T (1 task down, at most 1 at a time)", "waiting", "restarting" or "moving". Else the server's reason. */
export function formatReason(t: TaskView): string | null {
  const m = t.attempts.find((a) => a.id === t.attemptId)?.metricAction;
  if (!m || t.state === "parked" || t.hostId === null) return t.reason;
  const clock = (ms: number): string => formatTime(ms).slice(11);
  const fired = `metric check ${m.check} fired at ${clock(m.firedAt)} (${m.condition}: ${Number.isInteger(m.value) ? m.value : m.value.toPrecision(3)})`;
  const tasks = (n: number): string => `${n} task${n === 1 ? "" : "s"}`;
  if (m.state === "acting") return `${fired}; ${m.action === "move" ? "moving" : "restarting"}`;
  if (m.held === null) return `${fired}; ${m.action} waiting`;
  return `${fired}; ${m.action} held back by the job's disruption budget since ${clock(m.held.at)} (${tasks(m.held.down)} down, at most ${m.held.budget} at a time)`;
}

/** The spec's resources and stop in the form users write: "cpu 0.5  memory 256Mi  disk 1Gi  stop SIGTERM 10s". */
export function formatSpecLine(spec: JobStatus["spec"]): string {
  const r = spec.resources;
  return `cpu ${r.cpu}  memory ${formatSize(r.memoryMiB)}  disk ${formatSize(r.diskMiB)}  stop ${spec.stop.signal} ${formatDuration(spec.stop.graceMs)}`;
}

/** A header line and a table of tasks. */
export function renderStatus(s: JobStatus): string {
  // Unsandboxed tasks are the exception worth seeing at a glance; specs stored before sandboxes are sandboxed.
  const iso = s.spec.isolation === "none" ? "  isolation none" : s.spec.network === "private" ? "  network private" : "";
  // An every-host job has no count of its own: one task per matching host.
  const replicas = s.spec.everyHost === true ? `every-host (${s.tasks.length} task${s.tasks.length === 1 ? "" : "s"})` : String(s.spec.replicas);
  const head = `job ${s.name}  version ${s.version}  replicas ${replicas}  ${formatSpecLine(s.spec)}${iso}${s.removed ? "  (removed)" : ""}\n`;
  if (s.tasks.length === 0) return `${head}no tasks\n`;
  const table = renderTable(
    ["task", "host", "state", "attempt", "pid", "ports", "cpu", "memory", "failures", "previous", "reason"],
    s.tasks.map((t) => [
      `${t.id}${t.version === s.version ? "" : ` (v${t.version})`}`,
      t.hostName ?? t.hostId,
      t.state,
      t.attemptId,
      t.pid,
      formatPorts(t.ports),
      ...formatUsage(t.attempts.find((a) => a.id === t.attemptId)?.usage ?? null, t.state),
      t.failures,
      formatPrevious(t),
      formatReason(t),
    ]),
  );
  return head + table;
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  // The table already has every column (wide prints it too); json and yaml carry every field.
  outputOption(program.command("status").argument("<job>", "job name").description("show a job's tasks")).action(
    async (job: string, opts: OutputOpts) => {
      const format = outputFormat(opts);
      const s = await statusHandler(ctx.client(), job);
      ctx.io.out(renderOutput(format, s, () => renderStatus(s)));
    },
  );
}
