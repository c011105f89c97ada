// Token retention: a token revoked or expired longer ago than the audit keeps entries is deleted (run
// with the audit's pruning, by the leader), so `/tokens/` does not grow without bound while every
// audit entry that names a token still finds it in `tiffin token list`.
import type { Logger } from "pino";
import type { ApiToken } from "../model/index.ts";
import type { Store } from "../state/store.ts";
import { decodeAll, Kinds, Prefix } from "./kinds.ts";

const dayMs = 86_400_000;

/** The ids of tokens to delete (pure): revoked or expired more than `keepDays` before `now` (0: none). */
export function tokensToPrune(tokens: readonly ApiToken[], now: number, keepDays: number): string[] {
  if (keepDays <= 0) return [];
  const before = now - keepDays * dayMs;
  return tokens.filter((t) => (t.revokedAt !== null && t.revokedAt < before) || (t.expiresAt !== null && t.expiresAt < before)).map((t) => t.id);
}

/** Deletes what tokensToPrune says, in transactions of at most 100; resolves with how many went. */
export async function pruneTokens(store: Store, now: number, keepDays: number, log: Logger): Promise<number> {
  const { kvs } = await store.range(Prefix.tokens);
  const doomed = tokensToPrune(decodeAll(Kinds.token, kvs, log), now, keepDays);
  for (let i = 0; i < doomed.length; i += 100) {
    await store.txn({ compare: [], success: doomed.slice(i, i + 100).map((id) => ({ type: "delete" as const, key: Kinds.token.key(id) })) });
  }
  return doomed.length;
}
