// Secrets (issue 17): values users set with `tiffin secret set NS/NAME`, stored sealed (AES-256-GCM)
// under `/secretvalues/<ns>/<name>`, referenced by specs by name, delivered only to the agents of
// tasks that use them. The record carries the sealed value and its version; views never carry it.

import { z } from "zod";
import { DefaultNamespace } from "./acl.ts";
import { actorSchema } from "./token.ts";

/** A secret's name inside its namespace: like an env var or a file name, no slashes. */
export const secretNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** A namespace's name (a DNS label). */
export const namespacePattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The largest secret value, in bytes (a certificate chain fits; a data set does not). */
export const MaxSecretBytes = 65_536;

/** A value sealed with AES-256-GCM: a fresh 96-bit nonce per value, the tag, and the key's id. */
export const sealedSchema = z.object({
  /** Which key sealed it (secrets/seal.ts: keyIdOf): a server with another key says so. */
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  nonce: z.string(),
  ciphertext: z.string(),
  tag: z.string(),
});
/** A sealed value (sealedSchema); base64 fields. */
export type Sealed = z.infer<typeof sealedSchema>;

/** One secret as stored under `/secretvalues/<ns>/<name>`. */
export const secretRecordSchema = z.object({
  ns: z.string(),
  name: z.string(),
  /** 1 at the first set, +1 at each set after it: job versions pin it, so a new value rolls tasks. */
  version: z.number().int().positive(),
  createdAt: z.number(),
  updatedAt: z.number(),
  updatedBy: actorSchema,
  sealed: sealedSchema,
});
/** One stored secret (secretRecordSchema). */
export type SecretRecord = z.infer<typeof secretRecordSchema>;

/** A secret as the API shows it: never the value, sealed or not. */
export const secretViewSchema = secretRecordSchema.omit({ sealed: true });
/** A secret as the API shows it (secretViewSchema). */
export type SecretView = z.infer<typeof secretViewSchema>;

/** The API's view of a record. */
export function secretView(r: SecretRecord): SecretView {
  const { sealed: _sealed, ...rest } = r;
  return rest;
}

/** `PUT /v1/secrets/:ns/:name`'s body: the value's bytes, base64 (any bytes, not only text). */
export const secretSetSchema = z.object({ valueBase64: z.string().max(Math.ceil(MaxSecretBytes / 3) * 4 + 4) });
/** `PUT /v1/secrets/:ns/:name`'s body (secretSetSchema). */
export type SecretSet = z.infer<typeof secretSetSchema>;

/** A secret's full name as users write it: `NS/NAME`, or `NAME` in the default namespace. */
export interface SecretName {
  ns: string;
  name: string;
}

/** Parses `NS/NAME` or `NAME`; a string is what is wrong with it. */
export function parseSecretName(text: string): SecretName | string {
  const slash = text.indexOf("/");
  const ns = slash < 0 ? DefaultNamespace : text.slice(0, slash);
  const name = slash < 0 ? text : text.slice(slash + 1);
  if (!namespacePattern.test(ns)) return `"${text}": the namespace "${ns}" is not a DNS label (a-z, 0-9, "-")`;
  if (!secretNamePattern.test(name)) return `"${text}": the name "${name}" is not 1 to 128 letters, digits, ".", "_" or "-" starting with a letter or digit`;
  return { ns, name };
}

/** `NS/NAME`. */
export function formatSecretName(s: SecretName): string {
  return `${s.ns}/${s.name}`;
}
