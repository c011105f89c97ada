// `tiffin rollout status|history|pause|resume|promote|abort JOB [--json]`: a job's phased rollout (issue
// 14). `status`: the phase, tasks done, each phase's checks with their verdicts and figures, time in
// phase and what it waits for; `history`: every rollout of the job with its phases' verdicts; the
// commands act on the live rollout (`promote` skips the current bake, `abort` rolls back now).

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { RolloutStatus } from "../../api/types.ts";
import type { Rollout } from "../../model/rollout.ts";
import { formatDuration } from "../../spec/api.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { formatTime, renderJson, renderTable } from "../table.ts";

/** The commands that act on a live rollout. */
export const RolloutActions = ["pause", "resume", "promote", "abort"] as const;

/** What each action says it did. */
const did: Record<(typeof RolloutActions)[number], string> = { pause: "paused", resume: "resumed", promote: "promoted (bake skipped)", abort: "aborted" };

/** The phases of a rollout with their checks: one row per phase. */
export function renderPhases(r: Rollout): string {
  const rows = r.phases.map((p, i) => [
    `${i + 1}${i === r.phase && (r.state === "running" || r.state === "paused") ? "*" : ""}`,
    String(p.spec),
    p.tasks.join(","),
    p.outcome ?? (p.startedAt === null ? "waiting" : "in progress"),
    p.checks.map((c) => `${c.name} ${c.verdict} (${c.detail})`).join("; "),
    formatTime(p.startedAt),
  ]);
  return renderTable(["phase", "rule", "tasks", "outcome", "checks", "started"], rows);
}

/** `tiffin rollout status` as text. */
export function renderRolloutStatus(s: RolloutStatus): string {
  const r = s.rollout;
  if (!r) return `job ${s.name}: no rollout yet (its tasks never moved from one version to another)\n`;
  const head = [
    `job ${s.name}: rollout ${s.n} of version ${r.version} (${r.cause}${r.from !== null ? ` from version ${r.from}` : ""}): ${r.state}`,
    `phase ${Math.min(r.phase + 1, r.phases.length)}/${r.phases.length}, ${s.tasksDone}/${s.tasksTotal} tasks done${s.inPhaseMs !== null ? `, ${formatDuration(Math.round(s.inPhaseMs / 1000) * 1000)} in phase` : ""}`,
    `budget: ${r.maxUnavailable} task(s) down at most; bake ${formatDuration(r.policy.bakeMs)}, deadline ${formatDuration(r.policy.deadlineMs)}, on failure ${r.policy.onFailure}`,
  ];
  if (s.waitingFor) head.push(`waiting for: ${s.waitingFor}`);
  if (r.why) head.push(`why: ${r.why}`);
  if (r.rolledBackTo !== null) head.push(`rolled back: version ${r.rolledBackTo} runs version ${r.from ?? "?"}'s spec`);
  return `${head.join("\n")}\n\n${renderPhases(r)}`;
}

/** `tiffin rollout history` as text: one row per rollout, newest last. */
export function renderRolloutHistory(name: string, rs: Rollout[]): string {
  if (rs.length === 0) return `job ${name}: no rollouts yet\n`;
  const rows = rs.map((r, i) => [
    i + 1,
    r.version,
    r.cause,
    r.state,
    r.phases.map((p) => `${String(p.spec)}:${p.outcome ?? "-"}`).join(" "),
    formatTime(r.startedAt),
    r.why ?? "",
  ]);
  return renderTable(["n", "version", "cause", "state", "phases", "started", "why"], rows);
}

/** Fetches the status. */
export function rolloutStatusHandler(client: ApiClient, job: string): Promise<RolloutStatus> {
  return client.rolloutStatus(job);
}

/** Adds the command and its subcommands. */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program.command("rollout").description("a job's phased rollout: status, history, pause, resume, promote, abort");
  jsonOption(cmd.command("status").argument("<job>", "job name").description("phase, tasks done, each check's verdict with its figures, what it waits for")).action(
    async (job: string, opts: { json?: boolean }) => {
      const s = await rolloutStatusHandler(ctx.client(), job);
      ctx.io.out(opts.json ? renderJson(s) : renderRolloutStatus(s));
    },
  );
  jsonOption(cmd.command("history").argument("<job>", "job name").description("every rollout of the job with its phases' verdicts")).action(
    async (job: string, opts: { json?: boolean }) => {
      const rs = await ctx.client().rollouts(job);
      ctx.io.out(opts.json ? renderJson(rs) : renderRolloutHistory(job, rs));
    },
  );
  const about: Record<(typeof RolloutActions)[number], string> = {
    pause: "stop moving tasks to the new version (the ones moved keep running)",
    resume: "go on with a paused rollout (a failed phase starts again)",
    promote: "skip the current phase's bake (and resume a paused rollout)",
    abort: "roll back now: every new task returns to the last good version, within the budget",
  };
  for (const action of RolloutActions) {
    jsonOption(cmd.command(action).argument("<job>", "job name").description(about[action])).action(async (job: string, opts: { json?: boolean }) => {
      const s = await ctx.client().rolloutCommand(job, action);
      ctx.io.out(opts.json ? renderJson(s) : `job ${job}: rollout of version ${s.rollout?.version ?? "?"} ${did[action]}\n${renderRolloutStatus(s)}`);
    });
  }
}
