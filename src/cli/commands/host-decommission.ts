// `tiffin hosts decommission HOST [--deadline D --then A]`: drains the host and takes it out of
// placement for good (undrain is refused after it); its record and history stay, so `tiffin hosts`,
// events and attempts still show what ran there. Once its agent is stopped and it is down, `tiffin
// hosts remove HOST` may forget it.

import type { Command } from "commander";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { renderJson } from "../table.ts";
import { drainOptions, firstReport } from "./drain.ts";
import { renderDrainReport } from "./drain-report.ts";

/** Adds `decommission` under the `hosts` command. */
export function register(hosts: Command, ctx: CliContext): void {
  jsonOption(
    hosts
      .command("decommission")
      .argument("<host>", "host name or id")
      .description("drain a host and take it out of placement for good (its record and history stay)")
      .option("--deadline <duration>", "act on what is still there after this long (10m, 1h)")
      .option("--then <action>", "at the deadline: wait, force or stop (default force with a deadline)"),
  ).action(async (host: string, opts: { json?: boolean; deadline?: string; then?: string }) => {
    const client = ctx.client();
    const h = await firstReport(client, await client.decommission(host, drainOptions(opts)));
    const json = opts.json === true || (hosts.opts() as { json?: boolean }).json === true;
    ctx.io.out(json ? renderJson(h) : `host ${h.name} (${h.id}) is decommissioned: it takes no tasks again\n${renderDrainReport(h, Date.now())}`);
  });
}
