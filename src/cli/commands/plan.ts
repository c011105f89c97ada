// `tiffin plan FILE`: what applying the file would change, and where each task would run: per task,
// whether apply keeps, starts, stops or replaces it, and why. The file is loaded and validated
// locally first, so a bad spec is reported (exit 2) before anything is sent; a job that no host
// could ever run (too big for every host, constraints none meets) makes the plan exit 1.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { PlanResult } from "../../api/types.ts";
import { formatDiff } from "../../model/diff.ts";
import { loadSpecFile } from "../../spec/api.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import type { CliIo } from "../io.ts";
import { renderJson } from "../table.ts";
import { checkUses, inStartOrder, renderStartOrder } from "../uses-check.ts";
import { renderBatchOrder } from "../batch-order.ts";
import { clientForSpecs } from "../spec-namespace.ts";

/** Loads the file and asks the server to plan each job in it. */
export async function planHandler(client: ApiClient, file: string, io?: CliIo): Promise<PlanResult[]> {
  return (await planFile(client, file, io)).plans;
}

/** Loads the file, checks its service dependencies (`uses`) and plans each job, in start order. */
export async function planFile(command: ApiClient, file: string, io?: CliIo): Promise<{ plans: PlanResult[]; startOrder: string[][]; batchOrder: string }> {
  const specs = await loadSpecFile(file, io ? { onOutput: (t) => io.err(t) } : {});
  const client = clientForSpecs(command, specs, file);
  const startOrder = await checkUses(client, specs, file);
  const plans: PlanResult[] = [];
  for (const spec of inStartOrder(specs, startOrder)) plans.push(await client.plan(spec));
  return { plans, startOrder, batchOrder: renderBatchOrder(specs) };
}

/** `cpu on 2 hosts, memory on 1 host`. */
export function formatReasons(reasons: Record<string, number>): string {
  const parts = Object.entries(reasons)
    .sort((a, b) => b[1] - a[1])
    .map(([r, n]) => `${r} on ${n} host${n === 1 ? "" : "s"}`);
  return parts.length > 0 ? `no host fits (${parts.join(", ")})` : "no host fits (no hosts are up)";
}

/** One job's plan: header, diff, placement, unplaced tasks. */
export function renderPlan(p: PlanResult): string {
  const lines: string[] = [];
  if (p.current === null) lines.push(`job ${p.name}: new job, version ${p.version}`);
  else if (!p.changed) lines.push(`job ${p.name}: no changes (version ${p.current})`);
  else lines.push(`job ${p.name}: version ${p.current} -> ${p.version}`);
  if (p.changed) lines.push(...formatDiff(p.diff).split("\n").map((l) => `  ${l}`));
  if ((p.packages ?? []).length > 0) {
    lines.push("packages:");
    for (const pin of p.packages ?? []) lines.push(`  ${pin.ref} -> ${pin.name}:${pin.version} (${pin.id.slice(0, 12)})`);
  }
  if (p.neverFits) lines.push(`error: job ${p.name} can never run: ${p.neverFits}`);
  if (p.tasks && p.tasks.length > 0) {
    // One line per task slot: what apply does to it, where it runs, and why.
    lines.push("tasks:");
    const where = new Map(p.placements.map((pl) => [pl.index, `${pl.hostName} (rack ${pl.rack})`]));
    const width = Math.max(...p.tasks.map((t) => `${p.name}/${t.index}`.length));
    for (const t of p.tasks) {
      const host = t.action === "stop" ? "" : ` -> ${where.get(t.index) ?? "no host"}`;
      lines.push(`  ${`${p.name}/${t.index}`.padEnd(width)}  ${t.action.padEnd(7)}${host}  (${t.reason})`);
    }
  } else if (p.placements.length > 0) {
    lines.push("placement:");
    const sorted = [...p.placements].sort((a, b) => a.index - b.index);
    for (const pl of sorted) lines.push(`  ${p.name}/${pl.index} -> ${pl.hostName} (rack ${pl.rack})${pl.moved ? " [moves]" : ""}`);
  }
  if (p.rollout && p.rollout.length > 0) {
    // The phases apply will run, each waiting for its tasks to be healthy for the bake.
    lines.push("rollout:");
    p.rollout.forEach((ph, i) => {
      const tasks = ph.tasks.map((t) => `${p.name}/${t.index}${t.hostName ? ` on ${t.hostName}${t.domain ? ` (${t.domain})` : ""}` : ""}`).join(", ");
      lines.push(`  phase ${i + 1} (${String(ph.spec)}): ${tasks}`);
    });
  }
  if (p.unplaced.length > 0 && !p.neverFits) {
    lines.push("unplaced:");
    for (const u of p.unplaced) lines.push(`  ${p.name}/${u.index}: ${formatReasons(u.reasons)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Every job's plan, separated by blank lines. */
export function renderPlans(ps: PlanResult[]): string {
  return ps.map(renderPlan).join("\n");
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  jsonOption(program.command("plan").argument("<file>", "spec file (.ts)").description("show what apply would change and where tasks would run")).action(
    async (file: string, opts: { json?: boolean }) => {
      const { plans, startOrder, batchOrder } = await planFile(ctx.client(), file, ctx.io);
      ctx.io.out(opts.json ? renderJson(plans) : renderPlans(plans) + (plans.length > 1 ? renderStartOrder(startOrder) : "") + batchOrder);
      // A job no host could ever run is a failed plan: apply would only wait for its timeout.
      if (plans.some((p) => p.neverFits)) ctx.setExitCode(1);
    },
  );
}
