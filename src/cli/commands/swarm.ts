// `tiffin swarm rotate-token`: a new peer token for agents (the token they require of each other to
// serve package pieces). The previous one stays accepted until the next rotation, so fetches under way
// go on; rotating twice makes a token that may have leaked worthless.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { PeerTokenRotation } from "../../api/types.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { renderJson } from "../table.ts";

/** Rotates the peer token. */
export function rotateTokenHandler(client: ApiClient): Promise<PeerTokenRotation> {
  return client.rotatePeerToken();
}

/** What the rotation means for agents. */
export function renderRotation(r: PeerTokenRotation): string {
  return [
    `peer token rotated at ${new Date(r.rotatedAt).toISOString()}; agents accept ${r.accepted === 2 ? "the new and the previous token" : "the new token"}`,
    "agents fetch with the new one once every agent has heard of it (about a minute); rotate again to refuse the previous one",
    "",
  ].join("\n");
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  const swarm = program.command("swarm").description("peer-to-peer package distribution between agents");
  jsonOption(swarm.command("rotate-token").description("give agents a new peer token (the previous one stays accepted until the next rotation)")).action(async (opts: { json?: boolean }) => {
    const r = await rotateTokenHandler(ctx.client());
    ctx.io.out(opts.json ? renderJson(r) : renderRotation(r));
  });
}
