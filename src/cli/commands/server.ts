// `tiffin server`: the control plane in the foreground until SIGINT/SIGTERM.

import type { Command } from "commander";
import { resolve, join } from "node:path";
import { ErrorCodes, TiffinError } from "../../model/errors.ts";
import type { StoreSpec } from "../../server/main.ts";
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

const storeHint = "use sqlite:PATH or etcd://host:port[,host:port...][/prefix], e.g. etcd://10.0.0.1:2379,10.0.0.2:2379,10.0.0.3:2379";

/** Parses `--store`: absent (null: the server's default, SQLite at DATA/state.db); `sqlite:PATH`
 * (relative to the working directory); `etcd://host:port,host:port[/prefix]` (keys under /prefix,
 * default /tiffin). */
export function parseStoreFlag(text: string | undefined): StoreSpec | null {
  if (text === undefined) return null;
  if (text.startsWith("sqlite:")) {
    const path = text.slice("sqlite:".length);
    if (path === "") throw new TiffinError(ErrorCodes.Usage, "--store sqlite: needs a file path", { hint: storeHint });
    return { kind: "sqlite", path: resolve(path) };
  }
  const m = /^etcd:\/\/([^/]+)(\/.*)?$/.exec(text);
  if (!m) throw new TiffinError(ErrorCodes.Usage, `--store must be sqlite:PATH or etcd://..., got "${text}"`, { hint: storeHint });
  const endpoints = (m[1] ?? "").split(",").map((e) => e.trim());
  for (const e of endpoints) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(e)) {
      throw new TiffinError(ErrorCodes.Usage, `--store: etcd endpoint "${e}" must be host:port`, { hint: storeHint });
    }
  }
  const prefix = m[2] === undefined || m[2] === "/" ? "/tiffin" : m[2].replace(/\/+$/, "");
  return { kind: "etcd", endpoints: endpoints.map((e) => `http://${e}`), prefix };
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("server")
    .requiredOption("--data <dir>", "state directory (SQLite file, tokens)")
    .option("--listen <host:port>", "address to serve the API on", defaultListen)
    .option("--store <url>", "state store: sqlite:PATH or etcd://host:port,host:port[/prefix] (default: SQLite in the data dir)")
    .description("run the control plane")
    .action(async (opts: { data: string; listen: string; store?: string }) => {
      ctx.daemon();
      const dataDir = resolve(opts.data);
      const spec = parseStoreFlag(opts.store);
      const { openStore, startServer } = await import("../../server/main.ts");
      // A store named by --store is ours to close; the default one the server opens and closes.
      const store = spec ? await openStore(spec) : null;
      const server = await startServer({ dataDir, listen: opts.listen, ...(store ? { store } : {}) }).catch(async (err: unknown) => {
        await store?.close();
        throw err;
      });
      const sig = waitForSignal(["SIGINT", "SIGTERM"]);
      ctx.io.out(renderServerStarted(server.url, dataDir));
      const s = await sig.promise;
      ctx.io.err(`${s}: stopping the server\n`);
      await server.close();
      await store?.close();
      sig.dispose();
    });
}
