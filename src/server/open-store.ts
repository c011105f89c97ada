// Opens the store `tiffin server --store` names. The CLI parses the flag into a `StoreSpec` (it may
// not import src/state) and hands it here through main.ts; nothing else in the server cares which
// store it got.
import type { Clock } from "../model/index.ts";
import { openSqliteStore } from "../state/sqlite.ts";
import type { Store } from "../state/store.ts";

/** Which store a server uses: a SQLite file, or an etcd cluster (endpoints, key prefix). */
export type StoreSpec = { kind: "sqlite"; path: string } | { kind: "etcd"; endpoints: string[]; prefix: string };

/** Opens the store of `spec`; the caller closes it. An etcd store must answer first. */
export async function openStore(spec: StoreSpec, opts: { clock?: Clock } = {}): Promise<Store> {
  if (spec.kind === "sqlite") return openSqliteStore(spec.path, opts.clock ? { clock: opts.clock } : {});
  // Loaded only when used: etcd3 loads gRPC and its protobufs at import (about 100 ms).
  const { openEtcdStore } = await import("../state/etcd.ts");
  return openEtcdStore(spec.endpoints, { prefix: spec.prefix });
}
