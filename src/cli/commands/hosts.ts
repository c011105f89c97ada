// `tiffin hosts [HOST]`: the inventory with liveness and load; one host in detail, with its drain's
// report (what holds each job there, since when).

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { HostView } from "../../api/types.ts";
import type { CliContext } from "../command.ts";
import { outputFormat, outputOption, renderOutput } from "../output.ts";
import type { OutputOpts } from "../output.ts";
import { formatTime, renderTable } from "../table.ts";
import { renderDrainReport } from "./drain-report.ts";
import { register as registerRemove } from "./host-remove.ts";
import { register as registerDecommission } from "./host-decommission.ts";

/** Lists the hosts, sorted by name. */
export async function hostsHandler(client: ApiClient): Promise<HostView[]> {
  const hosts = await client.hosts();
  return hosts.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}

function num(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/0+$/, "");
}

/** A table of hosts: cpu and memory as used/total. */
export function renderHosts(hosts: HostView[]): string {
  if (hosts.length === 0) return "no hosts yet: start agents with `tiffin agent` (or `tiffin dev`)\n";
  return renderTable(
    ["name", "id", "status", "rack/cluster", "cpu", "memory MiB", "tasks", "draining", "sandbox"],
    hosts.map((h) => [
      h.name,
      h.id,
      h.status,
      `${h.domain.rack}/${h.domain.cluster}`,
      `${num(h.used.cpu)}/${num(h.cores)}`,
      `${h.used.memoryMiB}/${h.memoryMiB}`,
      h.tasks,
      h.decommissionedAt !== undefined ? "decommissioned" : h.draining ? "yes" : "no",
      // "none": sandboxed tasks are refused there (isolation "none" still runs).
      h.runtime,
    ]),
  );
}

/** One host in detail: where it is, its load, liveness, and its drain. */
export function renderHost(h: HostView, now = Date.now()): string {
  const lines = [
    `host ${h.name} (${h.id}): ${h.status}${h.decommissionedAt !== undefined ? `, decommissioned ${formatTime(h.decommissionedAt)}` : h.draining ? ", draining" : ""}`,
    `  domain    ${h.domain.region}/${h.domain.datacenter}/${h.domain.cluster}/${h.domain.rack}`,
    `  address   ${h.address}`,
    `  cpu       ${num(h.used.cpu)}/${num(h.cores)}`,
    `  memory    ${h.used.memoryMiB}/${h.memoryMiB} MiB`,
    `  tasks     ${h.tasks}`,
    `  sandbox   ${h.runtime}`,
    `  heartbeat ${formatTime(h.lastHeartbeatAt)}`,
  ];
  return `${lines.join("\n")}\n${renderDrainReport(h, now)}`;
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  // The table already has every column a person needs: wide prints it too; json and yaml carry every field.
  const cmd = outputOption(program.command("hosts").argument("[host]", "one host in detail, with its drain's report").description("list hosts, or show one (`tiffin hosts remove HOST` forgets a down host)")).action(async (host: string | undefined, opts: OutputOpts) => {
    const format = outputFormat(opts);
    if (host !== undefined) {
      const h = await ctx.client().host(host);
      ctx.io.out(renderOutput(format, h, () => renderHost(h)));
      return;
    }
    const hosts = await hostsHandler(ctx.client());
    ctx.io.out(renderOutput(format, hosts, () => renderHosts(hosts)));
  });
  registerRemove(cmd, ctx);
  registerDecommission(cmd, ctx);
}
