// `tiffin server`: the control plane in the foreground until SIGINT/SIGTERM.

import type { Command } from "commander";
import { resolve, join } from "node:path";
import type { CliContext } from "../command.ts";
import { waitForSignal } from "../command.ts";

/** Default listen address of `tiffin server` and `tiffin dev`. */
export const defaultListen = "127.0.0.1:7070";

/** What the server prints once it listens. */
export function renderServerStarted(url: string, dataDir: string): string {
  return [
    `tiffin server listening on ${url}`,
    `  data:        ${dataDir}`,
    `  admin token: ${join(dataDir, "admin.token")}  (TIFFIN_ADDR=${url} TIFFIN_TOKEN=$(cat ${join(dataDir, "admin.token")}) tiffin jobs)`,
    `  join token:  ${join(dataDir, "join.token")}  (tiffin agent --server ${url} --join-token-file ${join(dataDir, "join.token")} ...)`,
    "",
  ].join("\n");
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("server")
    .requiredOption("--data <dir>", "state directory (SQLite file, tokens)")
    .option("--listen <host:port>", "address to serve the API on", defaultListen)
    .description("run the control plane")
    .action(async (opts: { data: string; listen: string }) => {
      ctx.daemon();
      const dataDir = resolve(opts.data);
      const { startServer } = await import("../../server/main.ts");
      const server = await startServer({ dataDir, listen: opts.listen });
      const sig = waitForSignal(["SIGINT", "SIGTERM"]);
      ctx.io.out(renderServerStarted(server.url, dataDir));
      const s = await sig.promise;
      ctx.io.err(`${s}: stopping the server\n`);
      await server.close();
      sig.dispose();
    });
}
