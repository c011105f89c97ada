// Task metrics: agents' summaries in (`POST /v1/agent/metrics`, host token; a follower passes them to
// the leader, ../metrics-relay.ts), per job out
// (`GET /v1/jobs/:name/metrics`, with each task's cgroup figures against its limits), and every running
// task's endpoint for Prometheus's HTTP service discovery (`GET /v1/prometheus/sd`, prometheus-sd.ts). Summaries carry
// the agent's metric check verdicts; a check that fires (or stops firing before it was acted on) is
// written on the attempt (`metricAction`, ../metric-verdicts.ts) for the reconciler.
import type { JobMetricsView, TaskMetricsView } from "../../api/types.ts";
import { isTerminal, metricsReportSchema } from "../../model/index.ts";
import type { MetricsReport, TaskMetrics } from "../../model/index.ts";
import { namespaceFilter } from "../http/namespaces.ts";
import type { LeaderRelay } from "../metrics-relay.ts";
import type { ServerContext } from "../context.ts";
import { parseBody } from "../http/bodies.ts";
import { sendJsonMaybeGzipped } from "../http/gzip.ts";
import { readJsonObject, sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { prometheusSdOf } from "../prometheus-sd.ts";
import type { SdAttempt } from "../prometheus-sd.ts";
import type { TaskMetricsHistory } from "../task-metrics-history.ts";
import type { RolloutSamples } from "../rollout-samples.ts";
import { taskView } from "../views.ts";
import { apiNamed } from "./job-scope.ts";
import { withMetricVerdicts } from "../metric-verdicts.ts";
import { metricCheckViews } from "../metric-check-views.ts";
import { casLoop } from "../context.ts";
import { attemptKey, Kinds } from "../kinds.ts";
import type { Compare, Op } from "../../state/store.ts";
import { requireSameHost } from "./agent.ts";
import { notFound } from "./jobs.ts";

/** Registers the task metrics routes. */
export function taskMetricsRoutes(r: Router, ctx: ServerContext, history: TaskMetricsHistory, relay: LeaderRelay, samples?: RolloutSamples): void {
  const m = ctx.mirror;
  let retainedAt = 0;
  const keep = (report: MetricsReport): void => {
    for (const t of report.tasks) {
      const a = m.attempts.get(t.attemptId)?.value;
      // Unknown, another host's, or ended: a late report of a task that is gone.
      if (!a || a.hostId !== report.hostId || isTerminal(a.state)) continue;
      history.add({ job: a.job, index: a.index, version: a.version, hostId: a.hostId }, t);
      // The rollout judge's named readings (and the attempt's CPU beside them, for efficiency).
      if (samples && t.named) samples.add(a.job, a.index, a.id, t.named, a.usage ?? null);
    }
    const now = ctx.clock.now();
    if (samples && now - retainedAt > 60_000) {
      retainedAt = now;
      samples.retain((job, index) => m.tasks.get(job)?.has(index) ?? false);
    }
  };
  const parseReport = (body: Record<string, unknown>): MetricsReport =>
    parseBody(metricsReportSchema, body, (n) => `invalid metrics report: ${n} problem${n === 1 ? "" : "s"}`, "the agent and the server may be different versions");

  r.add("POST", "/v1/agent/metrics", "host", async ({ req, res, hostId }) => {
    const report = parseReport(await readJsonObject(req, '{"hostId": string, "tasks": TaskMetrics[]}'));
    requireSameHost(hostId, report.hostId);
    await recordMetricVerdicts(ctx, report.hostId, report.tasks);
    // In HA the leader holds the series (../metrics-relay.ts); this server only when it cannot reach one.
    if (!(await relay.post("/v1/internal/metrics", report))) keep(report);
    // Agents may gzip the next reports (RFC 7694: what request codings this resource takes).
    res.setHeader("accept-encoding", "gzip");
    sendJson(res, 200, { ok: true });
  });

  // The leader's side of a report a follower passed on (never passed on again).
  r.add("POST", "/v1/internal/metrics", "admin", async ({ req, res }) => {
    keep(parseReport(await readJsonObject(req, '{"hostId": string, "tasks": TaskMetrics[]}')));
    sendJson(res, 200, { ok: true });
  });

  r.add("GET", "/v1/jobs/:name/metrics", "admin", async ({ res, params, url }) => {
    const name = params["name"] ?? "";
    const fromLeader = await relay.get(`${url.pathname}${url.search}`);
    if (fromLeader !== null) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(fromLeader);
      return;
    }
    const job = m.jobs.get(name)?.value;
    const spec = job ? m.spec(name, job.version)?.spec : undefined;
    if (!job || !spec) throw notFound(name);
    const withSeries = url.searchParams.get("series") === "1";
    const latest = new Map(history.latestOf(name).map((l) => [l.index, l]));
    const series = withSeries ? await history.readJobSeries(name) : null;
    const tasks: TaskMetricsView[] = [...(m.tasks.get(name)?.values() ?? [])]
      .map((e) => e.value)
      .sort((a, b) => a.index - b.index)
      .map((t) => {
        const view = taskView(m, t);
        const attempt = t.attemptId ? m.attempts.get(t.attemptId)?.value : undefined;
        const usage = attempt?.usage;
        const taskSpec = m.spec(name, t.version)?.spec ?? spec;
        const l = latest.get(t.index);
        return {
          index: t.index,
          version: t.version,
          hostId: t.hostId,
          hostName: view.hostName,
          state: view.state,
          attemptId: t.attemptId,
          cpuCores: usage?.cpuCores ?? null,
          cpuLimit: taskSpec.resources.cpu,
          memoryBytes: usage?.memoryBytes ?? null,
          memoryLimitBytes: taskSpec.resources.memoryMiB * 1024 * 1024,
          ioReadRate: usage?.ioReadRate ?? null,
          ioWriteRate: usage?.ioWriteRate ?? null,
          restarts: view.attempts.filter((a) => a.version === t.version && a.id !== t.attemptId).length,
          // Only the current attempt's: an old attempt's figures would describe a task that is gone.
          metrics: l && l.metrics.attemptId === t.attemptId ? l.metrics : null,
          ...(taskSpec.metricChecks && taskSpec.metricChecks.length > 0
            ? { checks: metricCheckViews(taskSpec.metricChecks, l && l.metrics.attemptId === t.attemptId ? l.metrics.checks : undefined, attempt?.metricAction) }
            : {}),
          ...(series ? { series: series.get(t.index) ?? [] } : {}),
        };
      });
    const body: JobMetricsView = { ...apiNamed({ name }), version: job.version, endpoint: spec.metrics ?? null, tasks };
    sendJson(res, 200, body);
  });

  r.add("GET", "/v1/prometheus/sd", "admin", async ({ req, res, principal, namespace }) => {
    const attempts: SdAttempt[] = [];
    const visible = namespaceFilter(principal, namespace);
    for (const [job, byIndex] of m.tasks) {
      if (!visible(job)) continue;
      for (const { value: t } of byIndex.values()) {
        const a = t.attemptId ? m.attempts.get(t.attemptId)?.value : undefined;
        if (!a || a.state !== "running") continue;
        const spec = m.spec(job, a.version)?.spec;
        const host = m.hosts.get(a.hostId)?.value;
        if (!spec || !host) continue;
        attempts.push({ job, index: t.index, version: a.version, attemptId: a.id, hostId: a.hostId, hostName: host.name, hostAddress: host.address, ports: a.ports, spec });
      }
    }
    await sendJsonMaybeGzipped(req, res, 200, prometheusSdOf(attempts));
  });
}

/** Writes the metric actions that the agent's check verdicts start or end (metric-verdicts.ts). */
async function recordMetricVerdicts(ctx: ServerContext, hostId: string, tasks: readonly TaskMetrics[]): Promise<void> {
  const m = ctx.mirror;
  if (!tasks.some((t) => t.checks !== undefined)) return;
  await casLoop(ctx, "record metric checks", () => {
    const compare: Compare[] = [];
    const success: Op[] = [];
    for (const t of tasks) {
      const e = m.attempts.get(t.attemptId);
      if (!t.checks || !e || e.value.hostId !== hostId) continue;
      const spec = m.spec(e.value.job, e.value.version)?.spec;
      const next = spec ? withMetricVerdicts(e.value, spec, t.checks) : null;
      if (!next) continue;
      compare.push({ key: attemptKey(t.attemptId), target: "modRevision", op: "==", value: e.modRevision });
      success.push({ type: "put", key: attemptKey(t.attemptId), value: Kinds.attempt.encode(next) });
    }
    return success.length > 0 ? { compare, success } : null;
  });
}
