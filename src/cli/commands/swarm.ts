// `tiffin swarm rotate-token`: a new peer token for agents (the token they require of each other to
// serve package pieces). The previous one stays accepted until the next rotation, so fetches under way
// go on; rotating twice makes a token that may have leaked worthless. `tiffin swarm fetches`: the
// package fetches in flight as the tracker sees them (GET /v1/swarm/fetches, what the dashboard's
// packages page draws as progress bars).

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { PeerTokenRotation } from "../../api/types.ts";
import type { SwarmFetches } from "../../api/swarm-fetches.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { renderJson, renderTable } from "../table.ts";

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

/** The fetches in flight, with host names (ids of hosts the server no longer lists stay ids). */
export async function fetchesHandler(client: ApiClient): Promise<{ fetches: SwarmFetches; hostNames: Map<string, string> }> {
  const [fetches, hosts] = await Promise.all([client.swarmFetches(), client.hosts()]);
  return { fetches, hostNames: new Map(hosts.map((h) => [h.id, h.name])) };
}

/** One line per package and fetching host: pieces held of the total, where the arrived ones came
 * from, and what is on its way now. */
export function renderFetches(v: SwarmFetches, hostNames: ReadonlyMap<string, string>): string {
  if (v.packages.length === 0) return `no package fetches in flight (finished ones are listed for ${Math.round(v.keepMs / 1000)} s)\n`;
  const rows = v.packages.flatMap((p) => {
    const name = p.name === null ? p.id.slice(0, 12) : `${p.name}@${p.version ?? "?"}`;
    return p.fetchers.map((f) => [
      name,
      hostNames.get(f.host) ?? f.host,
      `${f.held}/${p.pieces}${p.pieces > 0 ? ` (${Math.floor((100 * f.held) / p.pieces)}%)` : ""}`,
      f.fromPeers,
      f.fromOrigin,
      f.complete ? "-" : `${f.inflightPeers} peers, ${f.inflightOrigin} origin`,
      f.complete ? `done in ${(((f.finishedAt ?? v.at) - f.startedAt) / 1000).toFixed(1)} s` : `fetching for ${((v.at - f.startedAt) / 1000).toFixed(1)} s`,
    ]);
  });
  return renderTable(["package", "host", "pieces", "from peers", "from origin", "in flight", "state"], rows);
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  const swarm = program.command("swarm").description("peer-to-peer package distribution between agents");
  jsonOption(swarm.command("rotate-token").description("give agents a new peer token (the previous one stays accepted until the next rotation)")).action(async (opts: { json?: boolean }) => {
    const r = await rotateTokenHandler(ctx.client());
    ctx.io.out(opts.json ? renderJson(r) : renderRotation(r));
  });
  jsonOption(swarm.command("fetches").description("package fetches in flight: per package and host, pieces held, from peers or the origin")).action(async (opts: { json?: boolean }) => {
    const { fetches, hostNames } = await fetchesHandler(ctx.client());
    ctx.io.out(opts.json ? renderJson(fetches) : renderFetches(fetches, hostNames));
  });
}
