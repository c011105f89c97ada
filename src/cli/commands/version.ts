// `tiffin version`: this client's release and, unless --client, the release of the server it talks
// to (kubectl version's habit), so a mismatch is seen before it confuses anything else.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import { tiffinVersion } from "../../api/version.ts";
import type { CliContext } from "../command.ts";
import { formatError } from "../errors.ts";
import { renderJson } from "../table.ts";

/** What `tiffin version` found: the server half is null with --client, an error text when unreachable. */
export interface VersionInfo {
  client: string;
  server: { version: string; url: string } | null;
  serverError?: string;
}

/** Asks the server for its version (GET /v1/cluster); a failure is kept, not thrown. */
export async function versionHandler(client: ApiClient | null): Promise<VersionInfo> {
  const info: VersionInfo = { client: tiffinVersion(), server: null };
  if (client === null) return info;
  try {
    const c = await client.cluster();
    info.server = { version: c.version ?? "unknown (older than 0.1.0)", url: client.addr };
  } catch (err) {
    info.serverError = formatError(err).trimEnd();
  }
  return info;
}

/** Two lines: `client X` and `server Y (at URL)`. */
export function renderVersion(v: VersionInfo): string {
  const lines = [`client  ${v.client}`];
  if (v.server) lines.push(`server  ${v.server.version} (at ${v.server.url})`);
  return `${lines.join("\n")}\n`;
}

/** Registers `tiffin version`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("version")
    .description("print the version of this client and of the server it talks to")
    .option("--client", "print the client's version only (no server call)")
    .option("--json", "print JSON for scripts")
    .action(async (opts: { client?: boolean; json?: boolean }) => {
      const info = await versionHandler(opts.client ? null : ctx.client());
      ctx.io.out(opts.json ? renderJson(info) : renderVersion(info));
      if (info.serverError !== undefined) {
        ctx.io.err(info.serverError + "\n");
        ctx.setExitCode(1);
      }
    });
}
