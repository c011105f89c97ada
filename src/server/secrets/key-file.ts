// The secrets key: 32 random bytes, base64 in a file of its own (DIR/secrets.key, or `--secrets-key
// FILE`), apart from the state, so a copy of state.db or an etcd snapshot alone opens no secret.
// Created owner-only (0600, O_EXCL) on first start; an existing one readable by others is narrowed to
// 0600 (and said). Servers sharing a store must share the file: each seals with its own key, and one
// with another key refuses to open (seal.ts: the key id), naming the file to copy.

import fs from "node:fs";
import { randomBytes } from "node:crypto";
import { ErrorCodes, TiffinError } from "../../model/index.ts";
import { SecretsKeyBytes } from "./seal.ts";

/** The key and what loading it did. */
export interface LoadedKey {
  key: Buffer;
  created: boolean;
  /** The mode a file that let others read it had (now 0600), or null. */
  narrowedFrom: number | null;
}

/** Reads the key file, creating it (0600) when absent. Throws TiffinError for a file that is not a key. */
export function loadSecretsKey(path: string): LoadedKey {
  let created = false;
  try {
    fs.writeFileSync(path, `${randomBytes(SecretsKeyBytes).toString("base64")}\n`, { flag: "wx", mode: 0o600 });
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const mode = fs.statSync(path).mode & 0o777;
  let narrowedFrom: number | null = null;
  if ((mode & 0o077) !== 0) {
    fs.chmodSync(path, 0o600);
    narrowedFrom = mode;
  }
  const key = Buffer.from(fs.readFileSync(path, "utf8").trim(), "base64");
  if (key.length !== SecretsKeyBytes) {
    throw new TiffinError(ErrorCodes.Usage, `the secrets key file ${path} does not hold a ${SecretsKeyBytes}-byte key (base64)`, {
      hint: "give the file every server of this cluster uses (--secrets-key), or move this one away to make a new key (secrets sealed with it are then lost)",
    });
  }
  return { key, created, narrowedFrom };
}
