// `tiffin hosts remove HOST`: forgets a down host's record and its token (re-provisioning a machine:
// its new agent, with a new data dir and so without the old token, may then register under the name).

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { HostRemoval } from "../../api/types.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { renderJson } from "../table.ts";

/** Removes a host record by id or name. */
export function hostRemoveHandler(client: ApiClient, host: string): Promise<HostRemoval> {
  return client.removeHost(host);
}

/** One line saying what changed. */
export function renderHostRemoval(r: HostRemoval): string {
  return `host ${r.name} (${r.id}) removed: its old host token is void, and an agent may register as ${r.name} anew\n`;
}

/** Adds `remove` under the `hosts` command. */
export function register(hosts: Command, ctx: CliContext): void {
  jsonOption(
    hosts
      .command("remove")
      .argument("<host>", "host name or id")
      .description("remove a down host's record, so a re-provisioned machine can register under its name (refused while the host is up or its tasks may still run there)"),
  ).action(async (host: string, opts: { json?: boolean }) => {
    const r = await hostRemoveHandler(ctx.client(), host);
    // `hosts` has its own --json, which commander gives the parent wherever it stands.
    const json = opts.json === true || (hosts.opts() as { json?: boolean }).json === true;
    ctx.io.out(json ? renderJson(r) : renderHostRemoval(r));
  });
}
