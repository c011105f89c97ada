// TLS for the clients of a Tiffin cluster (node-only, like ./node-client.ts): the cluster CA's hash
// (`sha256:<hex>` of its public key, as kubeadm's --discovery-token-ca-cert-hash), pinning the CA of
// a server by that hash before any token is sent, an ECDSA key with its certificate request (the key
// never leaves the machine that made it), and a fetch that trusts only the pinned CA and presents a
// client certificate. X.509 is @peculiar/x509 over WebCrypto: node:crypto parses certificates but
// cannot make them or certificate requests.

import "reflect-metadata"; // @peculiar/x509's dependency injection needs it loaded first
import * as x509 from "@peculiar/x509";
import { createHash, webcrypto, X509Certificate } from "node:crypto";
import { connect } from "node:tls";
import { Agent } from "undici";
import { ErrorCodes, TiffinError } from "../model/errors.ts";

x509.cryptoProvider.set(webcrypto);

/** The key algorithm of every Tiffin key and signature: ECDSA P-256 with SHA-256 (fast to make). */
export const KeyAlgorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** The TLS material of a client: the CA it trusts (PEM) and, for mTLS, its certificate and key. */
export interface ClientTls {
  ca: string;
  cert?: string;
  key?: string;
}

/** `sha256:<hex>` of a certificate's public key (SubjectPublicKeyInfo, DER): survives re-issuing the CA with the same key. */
export function caHashOf(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}

/** Whether `given` names the hash `actual` (`sha256:` optional, case-insensitive). */
export function sameCaHash(given: string, actual: string): boolean {
  const norm = (h: string): string => h.trim().toLowerCase().replace(/^sha256:/, "");
  return norm(given) === norm(actual);
}

/** A fresh key (PKCS#8 PEM) and a certificate request for `commonName` signed with it. */
export async function newKeyAndCsr(commonName: string): Promise<{ keyPem: string; csrPem: string }> {
  const keys = await webcrypto.subtle.generateKey(KeyAlgorithm, true, ["sign", "verify"]);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: [{ CN: [commonName] }], keys, signingAlgorithm: KeyAlgorithm });
  return { keyPem: pemOf("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)), csrPem: csr.toString("pem") };
}

/** PEM of DER bytes. */
export function pemOf(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** When a certificate stops being valid (epoch ms), and when it started. */
export function validityOf(certPem: string): { notBefore: number; notAfter: number } {
  const c = new X509Certificate(certPem);
  return { notBefore: Date.parse(c.validFrom), notAfter: Date.parse(c.validTo) };
}

/** A fetch over `tls` (trusting its CA only, presenting its certificate when it has one). */
export function tlsFetch(tls: ClientTls): typeof fetch {
  const dispatcher = new Agent({ connect: { ca: tls.ca, ...(tls.cert !== undefined && tls.key !== undefined ? { cert: tls.cert, key: tls.key } : {}) } });
  // Node's fetch takes an undici dispatcher (the same undici major as node's own); Object.assign, as
  // undici's and node's declarations of the dispatcher differ in detail.
  return (input, init) => fetch(input, Object.assign({}, init, { dispatcher }));
}

/**
 * The CA of the server at `url` whose public key has hash `caHash`: the server sends it after its
 * own certificate; it is taken only if its hash matches and the server's certificate verifies
 * against it for that host name. Nothing but the TLS handshake is sent, no token. Rejects with
 * TIFFIN_TLS_UNTRUSTED when the hash does not match (a wrong hash, or someone else's server).
 */
export async function pinServerCa(url: string, caHash: string, timeoutMs = 10_000): Promise<string> {
  const u = new URL(url);
  if (u.protocol !== "https:") throw new TiffinError(ErrorCodes.Usage, `${url} is not an https:// address: there is no CA to pin`, { hint: "use the https:// address the server logs at start" });
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port || 443);
  const chain = await new Promise<string[]>((resolve, reject) => {
    const s = connect({ host, port, rejectUnauthorized: false, ...(/^[\d.:]+$/.test(host) ? {} : { servername: host }) });
    const timer = setTimeout(() => s.destroy(Object.assign(new Error(`no TLS handshake within ${timeoutMs} ms`), { code: "ETIMEDOUT" })), timeoutMs);
    s.once("secureConnect", () => {
      clearTimeout(timer);
      const out: string[] = [];
      let c = s.getPeerCertificate(true);
      const seen = new Set<string>();
      while (c !== undefined && c.raw !== undefined && !seen.has(c.fingerprint256)) {
        seen.add(c.fingerprint256);
        out.push(pemOf("CERTIFICATE", new Uint8Array(c.raw).buffer));
        c = c.issuerCertificate;
      }
      s.destroy();
      resolve(out);
    });
    s.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  const ca = chain.find((pem) => sameCaHash(caHash, caHashOf(pem)));
  const leaf = chain[0];
  const where = `the server at ${url}`;
  if (ca === undefined || leaf === undefined) {
    throw new TiffinError(ErrorCodes.TlsUntrusted, `${where} did not present a CA with hash ${caHash} (it presented ${chain.map(caHashOf).join(", ") || "no certificate"})`, { hint: "check the hash the server logged at its first start (`cluster CA`; DATA_DIR/ca.crt), or that this is the server you meant" });
  }
  const leafCert = new X509Certificate(leaf);
  const caCert = new X509Certificate(ca);
  const checked = /^[\d.:]+$/.test(host) ? leafCert.checkIP(host) : leafCert.checkHost(host);
  if (!leafCert.verify(caCert.publicKey) || checked === undefined) {
    throw new TiffinError(ErrorCodes.TlsUntrusted, `${where} presented a certificate that the CA ${caHash} did not issue for ${host}`, { hint: "connect with a name or address the server's certificate lists (its log says which)" });
  }
  return ca;
}
