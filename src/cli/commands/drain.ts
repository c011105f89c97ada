// `tiffin drain HOST` / `tiffin undrain HOST`: stop or resume placing tasks on a host. Draining moves
// its tasks elsewhere.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { HostView } from "../../api/types.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { renderJson } from "../table.ts";

/** Drains (`on`) or undrains a host by id or name. */
export function drainHandler(client: ApiClient, host: string, on: boolean): Promise<HostView> {
  return on ? client.drain(host) : client.undrain(host);
}

/** One line saying what changed. */
export function renderDrain(h: HostView): string {
  return h.draining
    ? `host ${h.name} (${h.id}) is draining: its ${h.tasks} task(s) move elsewhere; \`tiffin undrain ${h.name}\` reverts\n`
    : `host ${h.name} (${h.id}) takes tasks again\n`;
}

/** Adds both commands. */
export function register(program: Command, ctx: CliContext): void {
  for (const [name, on, what] of [
    ["drain", true, "move tasks off a host and place no new ones"],
    ["undrain", false, "let a drained host take tasks again"],
  ] as const) {
    jsonOption(program.command(name).argument("<host>", "host name or id").description(what)).action(
      async (host: string, opts: { json?: boolean }) => {
        const h = await drainHandler(ctx.client(), host, on);
        ctx.io.out(opts.json ? renderJson(h) : renderDrain(h));
      },
    );
  }
}
