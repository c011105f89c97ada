// API tokens with policies (`tiffin token create`): the stored record and the secret's form. The
// store holds only the secret's sha256, never the secret: 256 random bits need no slow hash (no
// dictionary to guess from), and a digest lets every server check a token without holding it.

import { z } from "zod";
import { grantSchema } from "./acl.ts";

/** Who did something: a token's id and name (the audit's "who"). */
export const actorSchema = z.object({ id: z.string(), name: z.string() });
/** Who did something (actorSchema). */
export type Actor = z.infer<typeof actorSchema>;

/** One API token, as stored under `/tokens/<id>`. */
export const apiTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** sha256 of the whole secret (`tfn_<id>.<random>`), hex. */
  secretSha256: z.string().regex(/^[0-9a-f]{64}$/),
  policy: z.array(grantSchema),
  createdAt: z.number(),
  createdBy: actorSchema,
  /** Epoch ms after which the token is refused; null: never. */
  expiresAt: z.number().nullable(),
  /** Epoch ms it was revoked at (kept so `token list` and refusals can say so); null: not revoked. */
  revokedAt: z.number().nullable(),
  revokedBy: actorSchema.nullable(),
});
/** One stored API token (apiTokenSchema). */
export type ApiToken = z.infer<typeof apiTokenSchema>;

/** A token as the API shows it: the record without the digest, and its state now. */
export type ApiTokenView = Omit<ApiToken, "secretSha256"> & { state: "active" | "expired" | "revoked" };

const secretForm = /^tfn_([0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

/** The token id inside a secret of the `tfn_<id>.<random>` form, or null for any other text. */
export function tokenIdOf(secret: string): string | null {
  return secretForm.exec(secret)?.[1] ?? null;
}

/** The secret of token `id` with 32 random bytes (base64url: 43 characters). */
export function formatTokenSecret(id: string, random: string): string {
  return `tfn_${id}.${random}`;
}

/** The token's state at `now`. */
export function tokenState(t: ApiToken, now: number): ApiTokenView["state"] {
  if (t.revokedAt !== null) return "revoked";
  if (t.expiresAt !== null && now >= t.expiresAt) return "expired";
  return "active";
}

/** The API's view of a token: no digest. */
export function tokenView(t: ApiToken, now: number): ApiTokenView {
  const { secretSha256: _digest, ...rest } = t;
  return { ...rest, state: tokenState(t, now) };
}

/** A token as `GET /v1/tokens` shows it (ApiTokenView). */
export const apiTokenViewSchema = apiTokenSchema.omit({ secretSha256: true }).extend({ state: z.enum(["active", "expired", "revoked"]) });

/** `POST /v1/tokens`'s body: a name, grants as users write them (`ns/default=read`), a TTL. */
export const tokenCreateSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@ -]{0,62}$/, "1 to 63 letters, digits, '.', '_', '@', '-' or spaces, starting with a letter or digit"),
  policy: z.array(z.string()).min(1).max(64),
  /** How long it works, in ms; null or absent: until revoked (and no longer than its creator's). */
  ttlMs: z.number().int().positive().nullable().exactOptional(),
});
/** `POST /v1/tokens`'s body (tokenCreateSchema). */
export type TokenCreate = z.infer<typeof tokenCreateSchema>;

/** `POST /v1/tokens`'s answer: the token and its secret, shown this once. */
export const tokenCreatedSchema = z.object({ token: apiTokenViewSchema, secret: z.string() });
/** `POST /v1/tokens`'s answer (tokenCreatedSchema). */
export type TokenCreated = z.infer<typeof tokenCreatedSchema>;

/** `GET /v1/whoami`: the calling token. */
export const whoamiSchema = z.object({
  kind: z.enum(["admin", "token"]),
  id: z.string(),
  name: z.string(),
  policy: z.array(grantSchema),
  expiresAt: z.number().nullable(),
});
/** `GET /v1/whoami` (whoamiSchema). */
export type Whoami = z.infer<typeof whoamiSchema>;
