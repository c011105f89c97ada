// `tiffin remediations`: every remediation action with its reason and outcome, newest first, the
// budget in force and the budget alert while one is raised.
import type { Command } from "commander";
import type { RemediationsView } from "../../api/types.ts";
import type { CliContext } from "../command.ts";
import { outputFormat, outputOption, renderOutput } from "../output.ts";
import type { OutputOpts } from "../output.ts";
import { formatTime, renderTable } from "../table.ts";

/** The records as a table, with the budget and the alert. */
export function renderRemediations(v: RemediationsView, wide: boolean): string {
  const b = v.budget;
  const head = `budget: at most ${b.maxHosts} host${b.maxHosts === 1 ? "" : "s"}, ${b.maxDomainPct}% of any failure domain, ${b.rateCount} new per ${Math.round(b.ratePerMs / 60_000)} min; ${v.rules} rule${v.rules === 1 ? "" : "s"}\n`;
  const alert = v.alert === null ? "" : `ALERT: ${v.alert.message}\n  held back: ${v.alert.blocked.map((x) => `${x.hostName} (${x.check})`).join(", ")}\n`;
  if (v.remediations.length === 0) return `${head}${alert}no remediations yet${v.rules === 0 ? " (no rules: start the server with --remediation FILE)" : ""}\n`;
  const cols = ["id", "host", "check", "action", "state", "created", "reason", "outcome", ...(wide ? ["rule", "step", "escalated to"] : [])];
  const rows = v.remediations.map((r) => [
    r.id, r.hostName, r.check, r.action, r.state, formatTime(r.createdAt), r.reason, r.outcome,
    ...(wide ? [r.rule, String(r.step), r.escalatedTo ?? "-"] : []),
  ]);
  return head + alert + renderTable(cols, rows);
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  outputOption(program.command("remediations").description("remediation actions taken on hosts with failing machine checks, the budget and its alert")).action(async (opts: OutputOpts) => {
    const format = outputFormat(opts);
    const v = await ctx.client().remediations();
    ctx.io.out(renderOutput(format, v, (wide) => renderRemediations(v, wide)));
  });
}
