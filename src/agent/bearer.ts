// Bearer tokens on the agent's endpoints (the host token the server calls with, the peer tokens other
// agents fetch with), compared in constant time: a string `!==` stops at the first differing
// character, and its timing tells an attacker on the network how much of a token was guessed.

import { createHash, timingSafeEqual } from "node:crypto";

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerOf(header: string | undefined): string | null {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1] ?? null;
}

/** Compares two secrets in time independent of where they differ (digests make the lengths equal). */
export function sameSecret(given: string, expected: string): boolean {
  const d = (s: string): Buffer => createHash("sha256").update(s).digest();
  return timingSafeEqual(d(given), d(expected));
}

/** True when the header carries `token` (null: no token in force, everything is refused). */
export function bearerMatches(header: string | undefined, token: string | null): boolean {
  const given = bearerOf(header);
  // Compared even when refused anyway, so a missing token and a wrong one take the same time.
  const same = sameSecret(given ?? "", token ?? "");
  return given !== null && token !== null && same;
}
