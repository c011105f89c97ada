// `tiffin endpoints NAME [--watch] [--json]`: a service's serving endpoints (`GET
// /v1/services/:name/endpoints`); `--watch` then prints each change as it happens, from the typed
// watch (`kinds=endpoint`, `job=NAME`), which resumes from its last revision when the connection
// drops, so no change is missed or shown twice.
import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { WatchMessage } from "../../api/watch-types.ts";
import type { Endpoint } from "../../model/index.ts";
import type { CliContext } from "../command.ts";
import { waitForSignal } from "../command.ts";
import type { CliIo } from "../io.ts";
import { formatTime, renderJson, renderTable } from "../table.ts";

/** A service's endpoints now. */
export function endpointsHandler(client: ApiClient, service: string): Promise<Endpoint[]> {
  return client.endpoints(service);
}

const portsText = (e: Endpoint): string => e.ports.map((p) => `${p.name}=${p.port}`).join(",");

/** A table of endpoints: task, address:port of each named port, host, version, state, since. */
export function renderEndpoints(service: string, list: Endpoint[]): string {
  if (list.length === 0) return `service ${service} has no serving endpoints\n`;
  return renderTable(
    ["task", "address", "ports", "host", "version", "state", "since"],
    list.map((e) => [`${e.job}/${e.index}`, e.address, portsText(e), e.host, e.version, e.state, formatTime(e.since)]),
  );
}

/** One change of `--watch`: `+` listed, `~` changed, `-` removed, with the revision. */
export function renderEndpointChange(type: "added" | "updated" | "removed", name: string, e: Endpoint | null, revision: number): string {
  const sign = type === "added" ? "+" : type === "removed" ? "-" : "~";
  const where = e === null ? "" : `  ${e.address}  ${portsText(e)}  ${e.host}  v${e.version}  ${e.state}`;
  return `${sign} ${name}${where}  (revision ${revision})\n`;
}

/** Prints the endpoints, then each change until `signal`; JSON lines with `json`. The table is the
 * watch's own opening list (read at one revision), so no change falls between the list and the
 * changes; after a reset (the revision compacted) the new list is shown the same way. */
export async function watchEndpoints(client: ApiClient, io: CliIo, opts: { service: string; json: boolean; signal: AbortSignal }): Promise<void> {
  await client.endpoints(opts.service); // 404 with a hint for a service that does not exist
  let listing: Map<string, Endpoint> | null = new Map();
  try {
    const stream: AsyncGenerator<WatchMessage> = client.watch({ kinds: ["endpoint"], jobs: [opts.service], signal: opts.signal });
    for await (const m of stream) {
      if (m.type === "reset") {
        listing = new Map();
        continue;
      }
      if (m.type === "bookmark") {
        if (listing !== null) {
          const list = [...listing.values()].sort((a, b) => a.index - b.index);
          io.out(opts.json ? `${JSON.stringify({ type: "list", revision: m.revision, endpoints: list })}\n` : renderEndpoints(opts.service, list));
        }
        listing = null;
        continue;
      }
      if (m.kind !== "endpoint") continue;
      if (listing !== null) {
        if (m.object !== null) listing.set(m.name, m.object);
        continue;
      }
      io.out(opts.json ? `${JSON.stringify(m)}\n` : renderEndpointChange(m.type, m.name, m.object, m.revision));
    }
  } catch (err) {
    if (!opts.signal.aborted) throw err;
  }
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("endpoints <service>")
    .option("-w, --watch", "then print each change as it happens (Ctrl-C stops)")
    .option("--json", "print JSON for scripts (with --watch: one JSON message per line)")
    .description("show a service's serving endpoints (address, ports, task, version); --watch follows them")
    .action(async (service: string, opts: { watch?: boolean; json?: boolean }) => {
      const client = ctx.client();
      if (!opts.watch) {
        const list = await endpointsHandler(client, service);
        ctx.io.out(opts.json ? renderJson(list) : renderEndpoints(service, list));
        return;
      }
      const abort = new AbortController();
      const sig = waitForSignal(["SIGINT", "SIGTERM"]);
      void sig.promise.then(() => abort.abort());
      void ctx.outputClosed.then(() => abort.abort());
      try {
        await watchEndpoints(client, ctx.io, { service, json: opts.json === true, signal: abort.signal });
      } finally {
        sig.dispose();
      }
    });
}
