// `tiffin maintenance add|list|cancel`: maintenance windows for a host, rack, cluster or datacenter.
// Before a window, tasks of "move" jobs leave its hosts within their disruption budgets; "endure" jobs
// are stopped at its start and started again in place at its end; its hosts take nothing new.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { MaintenanceScope, MaintenanceWindow } from "../../model/index.ts";
import { windowEnd, windowPhase } from "../../model/index.ts";
import { parseDuration } from "../../spec/api.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { usageError } from "../errors.ts";
import { formatTime, renderJson, renderTable } from "../table.ts";
import { blockLine, span } from "./drain-report.ts";

/** The flags of `maintenance add`. */
export interface AddFlags {
  host?: string;
  rack?: string;
  cluster?: string;
  datacenter?: string;
  start?: string;
  duration?: string;
  reason?: string;
  lead?: string;
}

/** "now", "+30m" (from now), an ISO time ("2026-12-07T02:00Z") or epoch ms, as epoch ms. */
export function parseStart(text: string, now: number): number | null {
  if (text === "now") return now;
  if (text.startsWith("+")) {
    const d = parseDuration(text.slice(1));
    return d === null ? null : now + d;
  }
  if (/^\d{12,}$/.test(text)) return Number(text);
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}

/** The API request of `maintenance add`'s flags (a usage error says what is wrong). */
export function addRequest(f: AddFlags, now: number): Parameters<ApiClient["addMaintenance"]>[0] {
  const scopes = (["host", "rack", "cluster", "datacenter"] as const).filter((s) => f[s] !== undefined);
  const scope: MaintenanceScope | undefined = scopes[0];
  if (scopes.length !== 1 || scope === undefined) throw usageError("give exactly one of --host, --rack, --cluster, --datacenter", "e.g. tiffin maintenance add --rack r12 --start +1h --duration 2h --reason \"PDU swap\"");
  const start = parseStart(f.start ?? "now", now);
  if (start === null) throw usageError(`--start wants now, +DURATION, an ISO time or epoch ms, got "${f.start}"`);
  const durationMs = f.duration === undefined ? null : parseDuration(f.duration);
  if (durationMs === null || durationMs <= 0) throw usageError(`--duration wants a duration such as 2h or 30m, got "${f.duration ?? ""}"`);
  if (!f.reason) throw usageError("--reason is required: say what the work is", "e.g. --reason \"replace PDU, ticket OPS-1234\"");
  const out: Parameters<ApiClient["addMaintenance"]>[0] = { scope, target: f[scope] ?? "", start, durationMs, reason: f.reason };
  if (f.lead !== undefined) {
    const lead = parseDuration(f.lead);
    if (lead === null) throw usageError(`--lead wants a duration such as 10m, got "${f.lead}"`);
    out.leadMs = lead;
  }
  return out;
}

/** Where a window stands at `now`. */
export function windowState(w: MaintenanceWindow, now: number): string {
  const o = w.overrun;
  switch (windowPhase(w, now)) {
    case "overrun":
      return `OVERRUN for ${span(now - windowEnd(w))}: ${o?.hosts.join(", ")} not back (endure tasks go elsewhere after their job's maintenanceOverrun, default 15m)`;
    case "overran":
      return `ended, overran by ${span((o?.backAt ?? windowEnd(w)) - windowEnd(w))}`;
    case "cancelled":
    case "ended":
    case "active":
    case "closing":
    case "planned":
      return windowPhase(w, now);
  }
}

/** A table of windows. */
export function renderWindows(ws: MaintenanceWindow[], now = Date.now()): string {
  if (ws.length === 0) return "no maintenance windows: plan one with `tiffin maintenance add --rack R --start T --duration D --reason ...`\n";
  const table = renderTable(
    ["id", "scope", "target", "start", "duration", "state", "reason"],
    ws.map((w) => [w.id, w.scope, w.target, formatTime(w.start), span(w.durationMs), windowState(w, now), w.reason]),
  );
  // What holds jobs on the hosts of windows that are closing or active (the drain report's lines).
  const held = ws.filter((w) => windowState(w, now) !== "cancelled" && now < windowEnd(w) && (w.report ?? []).length > 0);
  const lines = held.flatMap((w) => [`window ${w.id}: jobs still held on its hosts`, ...(w.report ?? []).flatMap((r) => [`  host ${r.host}:`, ...r.blocked.map((b) => `    ${blockLine(b, now)}`)])]);
  return lines.length > 0 ? `${table}${lines.join("\n")}\n` : table;
}

/** Adds `maintenance` with add, list and cancel. */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program.command("maintenance").description("plan, list and cancel maintenance windows (hosts, racks, clusters, datacenters)");
  jsonOption(
    cmd
      .command("add")
      .description("plan a window: move jobs leave its hosts before it, endure jobs stop at its start and start again in place at its end")
      .option("--host <name>", "one host")
      .option("--rack <name>", "every host of a rack")
      .option("--cluster <name>", "every host of a cluster")
      .option("--datacenter <name>", "every host of a datacenter")
      .option("--start <time>", "now, +DURATION, an ISO time or epoch ms (default now)")
      .option("--duration <duration>", "how long the work takes (2h, 30m)")
      .option("--reason <text>", "what the work is")
      .option("--lead <duration>", "how long before the start tasks begin to move (default: a minute per disruption budget of each job)"),
  ).action(async (f: AddFlags & { json?: boolean }) => {
    const w = await ctx.client().addMaintenance(addRequest(f, Date.now()));
    ctx.io.out(f.json ? renderJson(w) : `maintenance ${w.id} planned: ${w.scope} ${w.target} from ${formatTime(w.start)} for ${span(w.durationMs)} (${w.reason})\n`);
  });
  jsonOption(cmd.command("list").description("every window, by start")).action(async (opts: { json?: boolean }) => {
    const ws = await ctx.client().maintenanceList();
    ctx.io.out(opts.json ? renderJson(ws) : renderWindows(ws));
  });
  jsonOption(cmd.command("cancel").argument("<id>", "the window's id (`tiffin maintenance list`)").description("cancel a window: endured tasks start again, hosts take tasks again")).action(async (id: string, opts: { json?: boolean }) => {
    const w = await ctx.client().cancelMaintenance(id);
    ctx.io.out(opts.json ? renderJson(w) : `maintenance ${w.id} of ${w.scope} ${w.target} cancelled\n`);
  });
}
