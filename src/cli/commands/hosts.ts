// `tiffin hosts [HOST]`: the inventory with liveness, load and failing machine checks; one host in
// detail, with its drain's report (what holds each job there, since when) and each check's history.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { HostChecksView, HostView, RemediationAlert } from "../../api/types.ts";
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

/** A table of hosts: cpu and memory as used/total, failing machine checks; the remediation budget
 * alert under it while one is raised. */
export function renderHosts(hosts: HostView[], alert: RemediationAlert | null = null): string {
  if (hosts.length === 0) return "no hosts yet: start agents with `tiffin agent` (or `tiffin dev`)\n";
  return renderTable(
    ["name", "id", "status", "rack/cluster", "cpu", "memory MiB", "tasks", "draining", "sandbox", "failing checks"],
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
      (h.failingChecks ?? []).map((c) => c.name).join(",") || "-",
    ]),
  ) + (alert === null ? "" : `\nALERT: ${alert.message}\n`);
}

/** `tiffin hosts HOST`: each machine check, its status now and its history (status changes, newest last). */
export function renderHostChecks(v: HostChecksView): string {
  if (v.checks.length === 0) return `host ${v.name} (${v.id}) has reported no machine checks yet\n`;
  const rows: string[][] = [];
  for (const c of v.checks) {
    rows.push([c.name, c.status.toUpperCase(), formatTime(c.since), c.message]);
    for (const h of [...c.history].reverse().slice(1)) rows.push(["", h.status, formatTime(h.at), h.message]);
  }
  return `host ${v.name} (${v.id}): machine checks\n` + renderTable(["check", "status", "since", "message"], rows);
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
  const cmd = outputOption(program.command("hosts").argument("[host]", "one host in detail: its drain's report and its machine checks with their history").description("list hosts with failing machine checks, or show one (`tiffin hosts remove HOST` forgets a down host)")).action(async (host: string | undefined, opts: OutputOpts) => {
    const format = outputFormat(opts);
    const client = ctx.client();
    if (host !== undefined) {
      const [h, v] = await Promise.all([client.host(host), client.hostChecks(host)]);
      const both = { ...h, machineChecks: v.checks };
      ctx.io.out(renderOutput(format, both, () => `${renderHost(h)}\n${renderHostChecks(v)}`));
      return;
    }
    const [hosts, rem] = await Promise.all([hostsHandler(client), client.remediations().catch(() => null)]);
    ctx.io.out(renderOutput(format, hosts, () => renderHosts(hosts, rem?.alert ?? null)));
  });
  registerRemove(cmd, ctx);
  registerDecommission(cmd, ctx);
}
