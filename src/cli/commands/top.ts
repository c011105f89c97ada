// `tiffin top [JOB]`: a table per task of CPU and memory against their limits, the three signals of
// its metrics endpoint (connected clients, errors per second, latency at the job's quantile) and its
// scrape errors, and its metric checks (ok, failing since T, fired at T and what became of it). On a terminal it refreshes every --interval until Ctrl-C; piped, or with --json, it
// prints once. Rows and their order are pure (topRows), the loop is the thin shell.
import { DefaultNamespace } from "../../model/index.ts";
import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { JobMetricsView, MetricCheckView, TaskMetricsView } from "../../api/types.ts";
import type { CliContext } from "../command.ts";
import { waitForSignal } from "../command.ts";
import { usageError } from "../errors.ts";
import { formatTime, renderJson, renderTable } from "../table.ts";
import { parseDuration } from "../../spec/api.ts";

/** Orders `tiffin top` can sort by (largest first, but `task`). */
export const TopSorts = ["cpu", "memory", "errors", "latency", "clients", "task"] as const;
/** One of TopSorts. */
export type TopSort = (typeof TopSorts)[number];

/** One task with its job, as top shows it. */
export type TopTask = TaskMetricsView & { job: string; quantile: number | null };

/** Fetches the metrics of `job`, or of every job not removed. */
export async function topHandler(client: ApiClient, job: string | null): Promise<JobMetricsView[]> {
  if (job !== null) return [await client.jobMetrics(job)];
  // With -A, each job's metrics are asked in its own namespace.
  const jobs = (await client.jobs()).filter((j) => !j.removed);
  return Promise.all(jobs.map((j) => client.inNamespace(j.namespace ?? DefaultNamespace).jobMetrics(j.name)));
}

function sortKey(t: TopTask, by: TopSort): number {
  switch (by) {
    case "cpu":
      return t.cpuCores ?? -1;
    case "memory":
      return t.memoryBytes === null ? -1 : t.memoryBytes / t.memoryLimitBytes;
    case "errors":
      return t.metrics?.errorsPerSec ?? -1;
    case "latency":
      return t.metrics?.latencySeconds ?? -1;
    case "clients":
      return t.metrics?.clients ?? -1;
    case "task":
      return 0;
  }
}

/** Every task of `views`, sorted: largest first by `by` (ties, and `task`, by job then index). */
export function topRows(views: readonly JobMetricsView[], by: TopSort): TopTask[] {
  // Another namespace's job as NS/NAME (with -A, beside the default's of the same name).
  const jobOf = (v: JobMetricsView): string => (v.namespace === undefined || v.namespace === DefaultNamespace ? v.name : `${v.namespace}/${v.name}`);
  const tasks = views.flatMap((v) => v.tasks.map((t) => ({ ...t, job: jobOf(v), quantile: v.endpoint?.quantile ?? null })));
  return tasks.sort((a, b) => sortKey(b, by) - sortKey(a, by) || (a.job < b.job ? -1 : a.job > b.job ? 1 : a.index - b.index));
}

const mib = (bytes: number): string => `${Math.round(bytes / (1024 * 1024))}Mi`;

/** Bytes per second, short: "0", "512", "12K", "3.4M" (binary units, per second). */
export function rate(bytesPerSec: number | null): string {
  if (bytesPerSec === null) return "-";
  if (bytesPerSec < 1024) return String(Math.round(bytesPerSec));
  if (bytesPerSec < 1024 * 1024) return `${Math.round(bytesPerSec / 1024)}K`;
  return `${Number((bytesPerSec / (1024 * 1024)).toFixed(1))}M`;
}

/** "120ms", "1.5s", "800µs". */
export function formatSeconds(s: number): string {
  if (s >= 1) return `${Number(s.toFixed(2))}s`;
  if (s >= 0.001) return `${Number((s * 1000).toFixed(1))}ms`;
  return `${Math.round(s * 1e6)}µs`;
}

/** The scrape column: "ok", "-" (no endpoint or no summary yet), or the errors and the last one's kind. */
function scrapeCell(t: TopTask): string {
  const m = t.metrics;
  if (!m) return "-";
  if (m.scrapeErrors === 0) return "ok";
  return `${m.up ? "ok, " : ""}${m.scrapeErrors} err${m.lastError ? ` (${m.lastError.kind})` : ""}`;
}

const clock = (ms: number | null): string => formatTime(ms).slice(11);

/** One metric check in a cell: "ok", "-" (no reading), "failing since 10:02:03 (7.5)", "fired
 * 10:02:33 (9), held since 10:02:34" (the job's disruption budget), "..., restarting". */
export function checkCell(c: MetricCheckView): string {
  const value = c.value === null ? "" : ` (${Number.isInteger(c.value) ? c.value : Number(c.value.toPrecision(3))})`;
  switch (c.state) {
    case "unknown":
      return "-";
    case "ok":
      return "ok";
    case "pending":
      return `failing since ${clock(c.since)}${value}`;
    case "firing": {
      const taken = c.taken === "held" ? `, held since ${clock(c.heldSince)}` : c.taken === "acting" ? `, ${c.action === "move" ? "moving" : "restarting"}` : "";
      return `fired ${clock(c.at)}${value}${taken}`;
    }
  }
}

/** The checks column: one check as checkCell, several as "0 ok; 1 failing since ...", "-" for none. */
function checksCell(t: TopTask): string {
  const checks = t.checks ?? [];
  if (checks.length === 0) return "-";
  if (checks.length === 1 && checks[0]) return checkCell(checks[0]);
  return checks.map((c) => `${c.check} ${checkCell(c)}`).join("; ");
}

/** The table. */
export function renderTop(rows: readonly TopTask[]): string {
  if (rows.length === 0) return "no tasks\n";
  return renderTable(
    ["task", "host", "state", "cpu", "memory", "io r/w", "restarts", "clients", "errors/s", "latency", "scrape", "checks"],
    rows.map((t) => [
      `${t.job}/${t.index}`,
      t.hostName,
      t.state,
      `${t.cpuCores === null ? "-" : t.cpuCores.toFixed(2)}/${t.cpuLimit}`,
      t.memoryBytes === null ? `-/${mib(t.memoryLimitBytes)}` : `${mib(t.memoryBytes)}/${mib(t.memoryLimitBytes)} ${Math.round((100 * t.memoryBytes) / t.memoryLimitBytes)}%`,
      t.ioReadRate === null && t.ioWriteRate === null ? "-" : `${rate(t.ioReadRate)}/${rate(t.ioWriteRate)}`,
      t.restarts,
      t.metrics?.clients ?? null,
      t.metrics?.errorsPerSec == null ? null : Number(t.metrics.errorsPerSec.toFixed(2)),
      t.metrics?.latencySeconds == null ? null : `${formatSeconds(t.metrics.latencySeconds)}${t.quantile === null ? "" : ` p${Number((t.quantile * 100).toFixed(1))}`}`,
      scrapeCell(t),
      checksCell(t),
    ]),
  );
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("top")
    .description("a live table per task: CPU, memory against its limit, block I/O, restarts, clients, errors/s, latency, scrape errors, metric checks")
    .argument("[job]", "one job (default: every job)")
    .option("--sort <by>", `order: ${TopSorts.join(", ")} (largest first)`, "cpu")
    .option("--interval <duration>", "refresh every (on a terminal)", "2s")
    .option("--json", "print once, as JSON")
    .action(async (job: string | undefined, opts: { sort: string; interval: string; json?: boolean }) => {
      const sort = TopSorts.find((s) => s === opts.sort);
      if (!sort) throw usageError(`--sort ${opts.sort} is not an order top knows`, `give one of ${TopSorts.join(", ")}`);
      const intervalMs = parseDuration(opts.interval);
      if (intervalMs === null || intervalMs < 200) throw usageError(`--interval ${opts.interval} is not a duration of at least 200ms`, 'give e.g. --interval 2s');
      const once = async (): Promise<TopTask[]> => topRows(await topHandler(ctx.client(), job ?? null), sort);
      if (opts.json || !ctx.io.isTTY) {
        const rows = await once();
        ctx.io.out(opts.json ? renderJson(rows) : renderTop(rows));
        return;
      }
      const sig = waitForSignal(["SIGINT", "SIGTERM"]);
      let stop = false;
      void sig.promise.then(() => (stop = true));
      try {
        while (!stop) {
          const rows = await once();
          // Home and clear, then the table: a whole screen per refresh, as top does.
          ctx.io.out(`\x1b[H\x1b[2J${new Date().toISOString().slice(11, 19)}  tiffin top${job ? ` ${job}` : ""}  (sorted by ${sort}, every ${opts.interval}; Ctrl-C ends)\n\n${renderTop(rows)}`);
          await Promise.race([sig.promise, new Promise((r) => setTimeout(r, intervalMs))]);
        }
      } finally {
        sig.dispose();
      }
    });
}
