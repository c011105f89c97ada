// The server's secrets box: seals values for the store and opens them for the agents of tasks that
// use them. It holds the key; nothing else in the server does.

import type { SecretRecord } from "../../model/index.ts";
import { ErrorCodes, formatSecretName, TiffinError } from "../../model/index.ts";
import { keyIdOf, open, seal, sealContext } from "./seal.ts";
import type { Sealed } from "../../model/index.ts";

/** Seals and opens secret values with one key. */
export class SecretBox {
  readonly #key: Buffer;
  /** Where the key came from, for messages. */
  readonly keyFile: string;
  /** The key's id (seal.ts). */
  readonly keyId: string;

  constructor(key: Buffer, keyFile: string) {
    this.#key = key;
    this.keyFile = keyFile;
    this.keyId = keyIdOf(key);
  }

  /** Seals the value of version `version` of `ns/name`. */
  seal(ns: string, name: string, version: number, value: Buffer): Sealed {
    return seal(this.#key, value, sealContext(ns, name, version));
  }

  /** The value of a stored secret; a TiffinError when this server's key cannot open it. */
  open(r: SecretRecord): Buffer {
    const got = open(this.#key, r.sealed, sealContext(r.ns, r.name, r.version));
    if (Buffer.isBuffer(got)) return got;
    const what = `secret ${formatSecretName(r)} (version ${r.version})`;
    if (got.why === "other-key") {
      throw new TiffinError(ErrorCodes.Unavailable, `${what} was sealed with key ${got.keyId}; this server's key ${this.keyId} (${this.keyFile}) is another`, {
        hint: "every server of a cluster needs the same secrets key: copy the first server's DATA_DIR/secrets.key (or its --secrets-key file) to this one and restart it",
      });
    }
    throw new TiffinError(ErrorCodes.Unavailable, `${what} does not open: its stored value was changed or moved from another secret`, { hint: `set it again: tiffin secret set ${formatSecretName(r)}` });
  }
}
