// `tiffin server migrate --from sqlite:FILE --to etcd://...`: copies every key of one store into
// another and verifies the copy (src/server/migrate.ts). Run it with the servers stopped: a SQLite
// file in use by a server cannot be opened (the server holds it exclusively).

import type { Command } from "commander";
import { existsSync } from "node:fs";
import type { MigrateResult } from "../../server/main.ts";
import type { CliContext } from "../command.ts";
import { usageError } from "../errors.ts";
import { parseStoreFlag } from "./store-flag.ts";

/** Flags of the command as commander parses them. */
export interface MigrateFlags {
  from: string;
  to: string;
  force?: boolean;
  leaseGrace?: string;
}

/** What was copied, for the user. */
export function renderMigrated(r: MigrateResult, from: string, to: string, graceS: number): string {
  const lines = [`copied ${r.keys} keys from ${from} to ${to}, read back and verified`];
  if (r.leased > 0) lines.push(`  ${r.leased} host liveness keys got a ${graceS} s lease: start the servers on ${to} before it runs out, or hosts count as down`);
  if (r.skipped > 0) lines.push(`  left out: ${r.skipped} key (the leader key; the new servers elect their own)`);
  if (r.replaced > 0) lines.push(`  --force: deleted the ${r.replaced} keys ${to} held before`);
  return `${lines.join("\n")}\n`;
}

/** Runs the migration; resolves with what was copied. */
export async function migrate(f: MigrateFlags): Promise<{ result: MigrateResult; graceS: number }> {
  const from = parseStoreFlag(f.from);
  const to = parseStoreFlag(f.to);
  if (!from || !to) throw usageError("migrate needs --from and --to", "e.g. tiffin server migrate --from sqlite:/var/lib/tiffin/state.db --to etcd://10.0.0.1:2379");
  if (from.kind === "sqlite" && !existsSync(from.path)) throw usageError(`--from: ${from.path} does not exist`, "name the state.db in the old server's data dir");
  const graceS = f.leaseGrace === undefined ? 60 : Number(f.leaseGrace);
  if (!Number.isInteger(graceS) || graceS < 1) throw usageError(`--lease-grace wants whole seconds (>= 1), got "${f.leaseGrace}"`);
  const { openStore, migrateState } = await import("../../server/main.ts");
  const src = await openStore(from);
  try {
    const dst = await openStore(to);
    try {
      const result = await migrateState(src, dst, { force: f.force === true, leaseGraceMs: graceS * 1000, describe: { from: f.from, to: f.to } });
      return { result, graceS };
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
}

/** Adds `migrate` under `server`. */
export function registerMigrate(server: Command, ctx: CliContext): void {
  server
    .command("migrate")
    .description("copy all state from one store to another (e.g. SQLite to etcd), verified; servers must be stopped")
    .requiredOption("--from <store>", "the store to read: sqlite:PATH or etcd://host:port,...[/prefix]")
    .requiredOption("--to <store>", "the store to write: etcd://host:port,...[/prefix] or sqlite:PATH")
    .option("--force", "replace whatever the target holds (default: refuse a target that is not empty)")
    .option("--lease-grace <seconds>", "lease given to hosts' liveness keys, so the fleet is not down while the new servers start", "60")
    .action(async (flags: MigrateFlags) => {
      const { result, graceS } = await migrate(flags);
      ctx.io.out(renderMigrated(result, flags.from, flags.to, graceS));
    });
}
