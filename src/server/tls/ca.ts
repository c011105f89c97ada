// The cluster CA (issue 17, mTLS): made by the first server on its first start (or given with
// --ca-cert/--ca-key), shared through the store so every server of an HA cluster signs with the same
// one. It signs each server's certificate (its names and addresses) and the agents' client
// certificates (CN = host id) from their certificate requests: an agent's key never leaves it.
//
// Protection of the CA key: DATA_DIR/ca.key is 0600 in the 0700 data dir; in the store it sits under
// `/secrets/ca` beside the admin token (`/secrets/admin`), with the same protection: no watch kind,
// never streamed, never in an API answer. Whoever can read the store is already cluster admin (they
// read the admin token), so the CA key adds no new power there. Encrypting it with a key kept apart
// from the store (as secrets will be) is the next step.

import "reflect-metadata"; // @peculiar/x509's dependency injection needs it loaded first
import * as x509 from "@peculiar/x509";
import { randomBytes, webcrypto, X509Certificate } from "node:crypto";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { z } from "zod";
import { caHashOf, KeyAlgorithm, pemOf } from "../../api/tls.ts";
import { ErrorCodes, TiffinError } from "../../model/index.ts";
import type { Store } from "../../state/store.ts";
import { Kinds, secretKey } from "../kinds.ts";
import type { CaSet } from "./rotation.ts";

/** The cluster CA: certificate and key (PEM), its `sha256:` hash and the key as a WebCrypto key. */
export interface ClusterCa {
  certPem: string;
  keyPem: string;
  hash: string;
  key: webcrypto.CryptoKey;
}

/** How long a new CA is valid. */
export const CaLifetimeMs = 10 * 365 * 86_400_000;
/** Certificates start a little in the past: clocks of a cluster are never quite equal. */
const BackdateMs = 5 * 60_000;

const pemPair = z.object({ certPem: z.string().min(1), keyPem: z.string().min(1) });
/** `/secrets/ca`: the current CA, and during a rotation the one being retired (tls/rotation.ts). A
 * server from before rotations reads the current one and ignores `previous`. */
const storedCa = pemPair.extend({ previous: pemPair.exactOptional() });

/** A new self-signed CA (ECDSA P-256, 10 years, may sign end certificates only). `cn`: its subject's
 * common name (a rotation's new CA gets its own, so two trusted CAs never share a subject). */
export async function createCa(now: number, cn = "tiffin cluster CA"): Promise<{ certPem: string; keyPem: string }> {
  const keys = await webcrypto.subtle.generateKey(KeyAlgorithm, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [cn] }, { O: ["tiffin"] }],
    notBefore: new Date(now - BackdateMs),
    notAfter: new Date(now + CaLifetimeMs),
    keys,
    signingAlgorithm: KeyAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: `${cert.toString("pem").trim()}\n`, keyPem: pemOf("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)) };
}

/** The CA of PEM texts; a usage error (with `where`) when they are not a CA certificate and its key. */
export async function caOf(pem: { certPem: string; keyPem: string }, where: string): Promise<ClusterCa> {
  let key: webcrypto.CryptoKey;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem.certPem);
    const der = Buffer.from(pem.keyPem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
    key = await webcrypto.subtle.importKey("pkcs8", der, KeyAlgorithm, false, ["sign"]);
  } catch (err) {
    throw new TiffinError(ErrorCodes.Usage, `${where}: not a PEM certificate and PKCS#8 ECDSA P-256 key (${(err as Error).message})`, { hint: "give the CA as PEM: --ca-cert ca.crt --ca-key ca.key (an ECDSA P-256 key, `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`)" });
  }
  if (!cert.ca) throw new TiffinError(ErrorCodes.Usage, `${where}: the certificate is not a CA (basicConstraints CA:FALSE)`, { hint: "give a CA certificate with --ca-cert" });
  return { ...pem, hash: caHashOf(pem.certPem), key };
}

/**
 * The CA every server on `store` uses: the stored one; else `given` (--ca-cert/--ca-key), else
 * DIR/ca.crt + DIR/ca.key when there, else a new one; stored with a create-if-absent txn so two
 * first servers agree. DIR/ca.crt and DIR/ca.key (0600) are (re)written with it.
 */
export async function shareCa(store: Store, dataDir: string, now: number, given?: { certPem: string; keyPem: string }, log?: { warn(o: object, msg: string): void }): Promise<ClusterCa> {
  const key = secretKey("ca");
  const read = async (): Promise<{ certPem: string; keyPem: string } | null> => {
    const kv = await store.get(key);
    if (!kv) return null;
    const d = Kinds.secret.decode(key, kv.value);
    const parsed = d.ok ? storedCa.safeParse(safeJson(d.value)) : null;
    if (!parsed?.success) throw new Error(`${key} in the store is not a CA`);
    return { certPem: parsed.data.certPem, keyPem: parsed.data.keyPem };
  };
  let pem: { certPem: string; keyPem: string } | null = await read();
  // --ca-cert/--ca-key name the CA of the cluster's first start: a unit keeps the flags after a
  // rotation (tiffin ca rotate) replaced that CA, and the store's CA is the cluster's.
  const ignoredGiven = given !== undefined && pem !== null && caHashOf(pem.certPem) !== caHashOf(given.certPem);
  if (pem === null) {
    const mine = given ?? readPair(dataDir) ?? (await createCa(now));
    const r = await store.txn({ compare: [{ key, target: "createRevision", op: "==", value: 0 }], success: [{ type: "put", key, value: Kinds.secret.encode(JSON.stringify(mine)) }] });
    pem = r.succeeded ? mine : await read();
    if (pem === null) throw new Error(`${key} vanished from the store`);
  }
  if (ignoredGiven) log?.warn({ given: caHashOf(given.certPem), cluster: caHashOf(pem.certPem) }, "--ca-cert is not the cluster's CA (rotated since?): the store's CA is used; --ca-cert/--ca-key count on the first start only (tiffin ca rotate --ca-cert replaces a CA)");
  writeCaFiles(dataDir, pem);
  return caOf(pem, "the cluster CA");
}

/** A server certificate and key for `names` (DNS names and IP addresses), valid `lifetimeMs`. */
export async function issueServerCert(ca: ClusterCa, names: string[], now: number, lifetimeMs = 365 * 86_400_000): Promise<{ certPem: string; keyPem: string }> {
  const keys = await webcrypto.subtle.generateKey(KeyAlgorithm, true, ["sign", "verify"]);
  const unique = [...new Set(names.filter((n) => n !== ""))];
  const cert = await sign(ca, {
    subject: [{ CN: [unique[0] ?? "tiffin server"] }, { O: ["tiffin server"] }],
    publicKey: keys.publicKey,
    now,
    lifetimeMs,
    extensions: [
      sanOf(unique),
      // Servers are clients of each other too (contacts, pieces, forwarded calls).
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  return { certPem: cert, keyPem: pemOf("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)) };
}

/**
 * The certificate of host `hostId` for the key of certificate request `csrPem`, valid `lifetimeMs`:
 * a client certificate (its calls to servers and peers) and, with `names` (what the server knows of
 * the host's endpoint address: hostCertNames), the serving certificate of its endpoint (logs, exec,
 * pieces). The request's own subject and names are ignored: the CN is the host id the caller proved.
 * A request that is not PEM or whose signature does not verify (not made with its key) is a 400.
 */
export async function signHostCsr(ca: ClusterCa, csrPem: string, hostId: string, now: number, lifetimeMs: number, names: string[] = []): Promise<string> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new TiffinError(ErrorCodes.BadRequest, `csr: not a PEM certificate request (${(err as Error).message})`, { hint: "send the PKCS#10 request the agent made for its own key" });
  }
  if (!(await csr.verify())) throw new TiffinError(ErrorCodes.BadRequest, "csr: its signature does not verify with its own public key", { hint: "sign the request with the key it names" });
  return sign(ca, {
    subject: [{ CN: [hostId] }, { O: ["tiffin host"] }],
    publicKey: await csr.publicKey.export(KeyAlgorithm, ["verify"]),
    now,
    lifetimeMs,
    extensions: names.length === 0 ? [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])] : [sanOf(names), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth])],
  });
}

function sanOf(names: string[]): x509.SubjectAlternativeNameExtension {
  return new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) ? { type: "ip" as const, value: n } : { type: "dns" as const, value: n })));
}

async function sign(ca: ClusterCa, o: { subject: x509.JsonName; publicKey: webcrypto.CryptoKey; now: number; lifetimeMs: number; extensions: x509.Extension[] }): Promise<string> {
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: o.subject,
    issuer: new x509.X509Certificate(ca.certPem).subject,
    notBefore: new Date(o.now - BackdateMs),
    notAfter: new Date(o.now + o.lifetimeMs),
    signingKey: ca.key,
    publicKey: o.publicKey,
    signingAlgorithm: KeyAlgorithm,
    // The authority key identifier tells a verifier which of several trusted CAs (a rotation's) signed it.
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), await x509.AuthorityKeyIdentifierExtension.create(new x509.X509Certificate(ca.certPem)), ...o.extensions],
  });
  return `${cert.toString("pem").trim()}\n`;
}

function serial(): string {
  // Positive (top bit clear), 64 random bits at least (CA/B Forum).
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString("hex");
}

function readPair(dataDir: string): { certPem: string; keyPem: string } | null {
  try {
    return { certPem: readFileSync(join(dataDir, "ca.crt"), "utf8"), keyPem: readFileSync(join(dataDir, "ca.key"), "utf8") };
  } catch {
    return null;
  }
}

/** Writes DIR/ca.crt and DIR/ca.key (0600) of the CA that signs host certificates now. */
export function writeCaFiles(dataDir: string, pem: { certPem: string; keyPem: string }): void {
  writeFileSync(join(dataDir, "ca.crt"), pem.certPem, { mode: 0o644 });
  writeFileSync(join(dataDir, "ca.key"), pem.keyPem, { mode: 0o600 });
  chmodSync(join(dataDir, "ca.key"), 0o600);
}

/** The stored CA set and its modRevision (for a compare), or null when the store holds no CA yet. */
export async function readCaSet(store: Store): Promise<{ set: CaSet; modRevision: number; text: string } | null> {
  const key = secretKey("ca");
  const kv = await store.get(key);
  if (!kv) return null;
  const d = Kinds.secret.decode(key, kv.value);
  const parsed = d.ok ? storedCa.safeParse(safeJson(d.value)) : null;
  if (!parsed?.success) throw new Error(`${key} in the store is not a CA`);
  const { previous, ...current } = parsed.data;
  return { set: { current, previous: previous ?? null }, modRevision: kv.modRevision, text: kv.value };
}

/** Writes `set` if the stored one is still at `modRevision`; false when another write came first. */
export async function writeCaSet(store: Store, set: CaSet, modRevision: number): Promise<boolean> {
  const key = secretKey("ca");
  const value = { ...set.current, ...(set.previous !== null ? { previous: set.previous } : {}) };
  const r = await store.txn({ compare: [{ key, target: "modRevision", op: "==", value: modRevision }], success: [{ type: "put", key, value: Kinds.secret.encode(JSON.stringify(value)) }] });
  return r.succeeded;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
