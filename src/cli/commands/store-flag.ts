// `--store` / `--from` / `--to`: which state store, as text. Parsed here into a StoreSpec that the
// server opens (the CLI may not import src/state).

import { resolve } from "node:path";
import { ErrorCodes, TiffinError } from "../../model/errors.ts";
import type { StoreSpec } from "../../server/main.ts";

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
