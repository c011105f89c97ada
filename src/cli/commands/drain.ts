// `tiffin drain HOST [--deadline 10m] [--then wait|force|stop]` / `tiffin undrain HOST`: stop or
// resume placing tasks on a host. Draining moves its tasks elsewhere within each job's disruption
// budget; the command waits (up to ReportWaitMs) for the leader's first look and prints what holds
// each job still there, so a drain never hangs silently.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { HostView } from "../../api/types.ts";
import { DrainThenActions } from "../../model/index.ts";
import type { DrainThen } from "../../model/index.ts";
import { parseDuration } from "../../spec/api.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { usageError } from "../errors.ts";
import { renderJson } from "../table.ts";
import { renderDrainReport } from "./drain-report.ts";

/** How long `tiffin drain` waits for the leader's first report. */
export const ReportWaitMs = 2000;

/** What `--deadline` and `--then` ask of the server. */
export function drainOptions(opts: { deadline?: string; then?: string }): { deadlineMs?: number | null; then?: DrainThen } {
  const out: { deadlineMs?: number | null; then?: DrainThen } = {};
  if (opts.deadline !== undefined) {
    const ms = opts.deadline === "none" ? null : parseDuration(opts.deadline);
    if (ms === null && opts.deadline !== "none") throw usageError(`--deadline wants a duration such as 10m or 1h (or "none"), got "${opts.deadline}"`);
    out.deadlineMs = ms;
  }
  if (opts.then !== undefined) {
    const then = DrainThenActions.find((a) => a === opts.then);
    if (!then) throw usageError(`--then takes ${DrainThenActions.join(", ")}, got "${opts.then}"`, "wait: keep waiting; force: move regardless of budgets, stop what finds no room; stop: stop every task left");
    out.then = then;
  }
  return out;
}

/** Drains (with options) or undrains a host by id or name; a drain waits for its first report. */
export async function drainHandler(client: ApiClient, host: string, on: boolean, opts: { deadlineMs?: number | null; then?: DrainThen } = {}, waitMs = ReportWaitMs): Promise<HostView> {
  if (!on) return client.undrain(host);
  return firstReport(client, await client.drain(host, opts), waitMs);
}

/** The host once the leader has looked at its drain (or as it is after `waitMs`). */
export async function firstReport(client: ApiClient, view: HostView, waitMs = ReportWaitMs): Promise<HostView> {
  let h = view;
  const until = Date.now() + waitMs;
  while ((h.drain?.checkedAt ?? null) === null && h.tasks > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    h = await client.host(h.id);
  }
  return h;
}

/** What changed, and for a drain what holds it. */
export function renderDrain(h: HostView, now = Date.now()): string {
  return h.draining
    ? `${renderDrainReport(h, now)}\`tiffin hosts ${h.name}\` shows it again; \`tiffin undrain ${h.name}\` reverts\n`
    : `host ${h.name} (${h.id}) takes tasks again\n`;
}

/** Adds both commands. */
export function register(program: Command, ctx: CliContext): void {
  const drain = jsonOption(program.command("drain").argument("<host>", "host name or id").description("move tasks off a host within their jobs' disruption budgets and place no new ones"))
    .option("--deadline <duration>", "act on what is still there after this long (10m, 1h; none: no deadline)")
    .option("--then <action>", "at the deadline: wait, force (ignore budgets; stop what finds no room) or stop (every task left); default force with a deadline");
  drain.action(async (host: string, opts: { json?: boolean; deadline?: string; then?: string }) => {
    const h = await drainHandler(ctx.client(), host, true, drainOptions(opts));
    ctx.io.out(opts.json ? renderJson(h) : renderDrain(h));
  });
  jsonOption(program.command("undrain").argument("<host>", "host name or id").description("let a drained host take tasks again")).action(async (host: string, opts: { json?: boolean }) => {
    const h = await drainHandler(ctx.client(), host, false);
    ctx.io.out(opts.json ? renderJson(h) : renderDrain(h));
  });
}
