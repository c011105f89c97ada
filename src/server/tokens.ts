// The server's bearer tokens: DIR/admin.token (users) and DIR/join.token (agents registering), made
// on first start with mode 0600 and reused after; host tokens are made at register and kept in the store.
// Servers sharing a store share the admin and join tokens through it (`shareToken`): the first server
// stores its own, later ones adopt the stored one and write it to their DIR/*.token for the CLI.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Store } from "../state/store.ts";
import { Kinds, secretKey } from "./kinds.ts";

/** A new random token (256 bits, base64url). */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Reads DIR/<name>, or writes a new token there (mode 0600) if it does not exist. */
export function loadOrCreateToken(dataDir: string, name: string): string {
  const path = join(dataDir, name);
  try {
    const existing = readFileSync(path, "utf8").trim();
    if (existing !== "") return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const token = newToken();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return token;
}

/**
 * The token `name` ("admin.token", "join.token") every server on `store` uses: the stored one, or,
 * if none is stored yet, this server's (DIR/<name>, made if missing), stored with a create-if-absent
 * txn so two servers starting at once agree. DIR/<name> is (re)written with it, mode 0600.
 */
export async function shareToken(store: Store, dataDir: string, name: string): Promise<string> {
  const mine = loadOrCreateToken(dataDir, name);
  const key = secretKey(name.replace(/\.token$/, ""));
  const r = await store.txn({ compare: [{ key, target: "createRevision", op: "==", value: 0 }], success: [{ type: "put", key, value: Kinds.secret.encode(mine) }] });
  if (r.succeeded) return mine;
  const kv = await store.get(key);
  const d = kv ? Kinds.secret.decode(key, kv.value) : null;
  const stored = d?.ok ? d.value : "";
  if (stored === "") throw new Error(`${key} in the store is not a token${d && !d.ok ? ` (${d.problem.message})` : ""}`);
  if (stored !== mine) {
    const path = join(dataDir, name);
    writeFileSync(path, `${stored}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
  }
  return stored;
}

/** A stable id for this server (DIR/server.id, made on first start). */
export function serverIdOf(dataDir: string): string {
  return loadOrCreateToken(dataDir, "server.id").slice(0, 12);
}

/** Compares two secrets in time independent of where they differ (digests make the lengths equal). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerOf(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1] ?? null;
}
