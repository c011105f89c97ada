// `tiffin context refresh-ca` (issue 17, CA rotation): the cluster's CAs, fetched over a connection
// the context already trusts (its pinned CA verified the server) and checked: each one a CA
// certificate, the servers' serving CA among them, and the --ca-hash given among them. After a
// finished rotation the context's old CA no longer verifies the servers: with --ca-hash the CA of
// that hash is first pinned from the server's handshake (as `tiffin context add` does).

import { X509Certificate } from "node:crypto";
import { NodeApiClient } from "../../api/node-client.ts";
import { caHashOf, pinServerCa, sameCaHash, tlsFetch } from "../../api/tls.ts";
import type { CaTrust } from "../../api/ca-wire.ts";
import { ErrorCodes, TiffinError } from "../../model/errors.ts";
import type { CliContext } from "../command.ts";

/** The CAs to pin: the bundle (PEM), their hashes, and the serving CA's hash. */
export interface RefreshedCa {
  bundle: string;
  hashes: string[];
  serving: string;
}

/** Checks a trust answer; returns what to pin. Pure. */
export function checkTrust(t: CaTrust, caHash: string | undefined, where: string): RefreshedCa {
  const hashes: string[] = [];
  for (const c of t.trust) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(c.certPem);
    } catch {
      throw new TiffinError(ErrorCodes.TlsUntrusted, `${where} sent a CA that is not a PEM certificate`, { hint: "is this a Tiffin server? the context keeps its CA" });
    }
    const hash = caHashOf(c.certPem);
    if (!cert.ca || hash !== c.hash) throw new TiffinError(ErrorCodes.TlsUntrusted, `${where} sent ${c.hash}, which is not that CA certificate`, { hint: "the context keeps its CA" });
    hashes.push(hash);
  }
  if (!hashes.includes(t.serving)) throw new TiffinError(ErrorCodes.TlsUntrusted, `${where}: the servers' CA ${t.serving} is not among the CAs sent`, { hint: "the context keeps its CA" });
  if (caHash !== undefined && !hashes.some((h) => sameCaHash(caHash, h))) {
    throw new TiffinError(ErrorCodes.TlsUntrusted, `${where} does not trust a CA with hash ${caHash} (it trusts ${hashes.join(", ")})`, { hint: "check the hash `tiffin ca rotate` printed; the context keeps its CA" });
  }
  return { bundle: t.trust.map((c) => `${c.certPem.trim()}\n`).join(""), hashes, serving: t.serving };
}

/** Fetches and checks the cluster's CAs for the current target. */
export async function refreshCa(ctx: CliContext, caHash: string | undefined): Promise<RefreshedCa> {
  const t = ctx.target();
  const addr = t.addr.split(",")[0] ?? t.addr;
  if (!addr.startsWith("https://")) throw new TiffinError(ErrorCodes.Usage, `${addr} is not an https server: there is no CA to refresh`, { hint: "refresh-ca is for contexts of TLS servers" });
  try {
    return checkTrust(await ctx.client().caTrust(), caHash, `the server at ${addr}`);
  } catch (err) {
    // The pinned CA no longer verifies the server (a rotation finished): pin the given hash's CA first.
    if (caHash === undefined || (err instanceof TiffinError && err.code === ErrorCodes.TlsUntrusted)) throw err;
    const ca = await pinServerCa(addr, caHash);
    const client = new NodeApiClient({ addr: t.addr, token: t.token, fetch: tlsFetch({ ca }), ca });
    return checkTrust(await client.caTrust(), caHash, `the server at ${addr}`);
  }
}
