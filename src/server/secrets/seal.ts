// Sealing secret values at rest: AES-256-GCM with a fresh random 96-bit nonce per value (never reused
// with one key: 2^32 values per key keep the collision odds below 2^-32), and the secret's name and
// version as additional data, so a sealed value copied onto another secret's key, or an older
// version replayed over a newer one, does not open. The key never leaves the server's memory; the
// key id (a digest of the key under its own label) lets a server with another key say so.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { Sealed } from "../../model/index.ts";

/** The key's length in bytes (AES-256). */
export const SecretsKeyBytes = 32;

/** The id of a key: 16 hex of sha256 over a label and the key (not the key, and not a digest usable as one). */
export function keyIdOf(key: Buffer): string {
  return createHash("sha256").update("tiffin secrets key id\0").update(key).digest("hex").slice(0, 16);
}

/** What a sealed value is bound to: its namespace, name and version. */
export function sealContext(ns: string, name: string, version: number): Buffer {
  return Buffer.from(`tiffin-secret\0${ns}\0${name}\0${version}`, "utf8");
}

/** Seals `plain` under `key`, bound to `aad`. */
export function seal(key: Buffer, plain: Buffer, aad: Buffer, nonce: Buffer = randomBytes(12)): Sealed {
  const c = createCipheriv("aes-256-gcm", key, nonce);
  c.setAAD(aad);
  const ciphertext = Buffer.concat([c.update(plain), c.final()]);
  return { keyId: keyIdOf(key), nonce: nonce.toString("base64"), ciphertext: ciphertext.toString("base64"), tag: c.getAuthTag().toString("base64") };
}

/** Why a sealed value did not open: another key sealed it, or it (or its binding) was changed. */
export type OpenFailure = { why: "other-key"; keyId: string } | { why: "tampered" };

/** Opens a sealed value: its bytes, or why not. */
export function open(key: Buffer, s: Sealed, aad: Buffer): Buffer | OpenFailure {
  if (s.keyId !== keyIdOf(key)) return { why: "other-key", keyId: s.keyId };
  try {
    const d = createDecipheriv("aes-256-gcm", key, Buffer.from(s.nonce, "base64"));
    d.setAAD(aad);
    d.setAuthTag(Buffer.from(s.tag, "base64"));
    return Buffer.concat([d.update(Buffer.from(s.ciphertext, "base64")), d.final()]);
  } catch {
    return { why: "tampered" };
  }
}
