// Audit log retention: entries under /audit/<epoch ms>-<id> older than `keepDays` go, and beyond the
// newest `keepEntries` the oldest go, checked at start and every hour by the leader (any server could:
// deletes are idempotent, but one is enough). Deleted in transactions of at most 100 operations.
// Revoked and expired API tokens go with the same age limit (token-prune.ts).
import type { Logger } from "pino";
import type { Clock } from "../model/index.ts";
import type { Store } from "../state/store.ts";
import { Prefix } from "./keys.ts";
import { pruneTokens } from "./token-prune.ts";

/** How long and how many audit entries are kept. */
export interface AuditRetention {
  /** Entries younger than this many days are kept (0: no age limit). @default 90 */
  keepDays?: number;
  /** At most this many entries, the newest (0: no count limit). @default 100000 */
  keepEntries?: number;
}

const dayMs = 86_400_000;

/** The audit keys to delete (pure): `keys` in store order (oldest first, the key starts with the time). */
export function auditKeysToPrune(keys: readonly string[], now: number, r: AuditRetention = {}): string[] {
  const keepDays = r.keepDays ?? 90;
  const keepEntries = r.keepEntries ?? 100_000;
  const byCount = keepEntries > 0 ? Math.max(0, keys.length - keepEntries) : 0;
  return keys.filter((k, i) => {
    if (i < byCount) return true;
    if (keepDays <= 0) return false;
    const at = Number(k.slice(Prefix.audit.length, Prefix.audit.length + 13));
    return Number.isFinite(at) && at < now - keepDays * dayMs;
  });
}

/** Deletes what the retention says; resolves with how many entries went. */
export async function pruneAudit(store: Store, now: number, r: AuditRetention = {}): Promise<number> {
  const { kvs } = await store.range(Prefix.audit);
  const doomed = auditKeysToPrune(kvs.map((kv) => kv.key), now, r);
  for (let i = 0; i < doomed.length; i += 100) {
    await store.txn({ compare: [], success: doomed.slice(i, i + 100).map((key) => ({ type: "delete" as const, key })) });
  }
  return doomed.length;
}

/** Prunes now and every `everyMs` while `active()` (the leader); `stop()` ends it. */
export function startAuditPruning(o: { store: Store; clock: Clock; log: Logger; retention?: AuditRetention; active: () => boolean; everyMs?: number }): { stop(): void } {
  let timer: { cancel(): void } | null = null;
  let stopped = false;
  const run = async (): Promise<void> => {
    if (o.active()) {
      try {
        const n = await pruneAudit(o.store, o.clock.now(), o.retention ?? {});
        if (n > 0) o.log.info({ deleted: n }, "audit log pruned");
        // Tokens that stopped working are kept as long as audit entries that may name them.
        const gone = await pruneTokens(o.store, o.clock.now(), o.retention?.keepDays ?? 90, o.log);
        if (gone > 0) o.log.info({ deleted: gone }, "revoked and expired tokens pruned");
      } catch (err) {
        o.log.warn({ err }, "pruning the audit log failed");
      }
    }
    if (!stopped) timer = o.clock.setTimeout(() => void run(), o.everyMs ?? 3_600_000);
  };
  // A little after start: an election may be under way.
  timer = o.clock.setTimeout(() => void run(), 5_000);
  return {
    stop: () => {
      stopped = true;
      timer?.cancel();
    },
  };
}
