// `POST /v1/agent/certificate` (issue 17, mTLS; wire in src/api/cert-wire.ts): signs the agent's
// certificate request into its host's certificate (CN = the host id the caller proved with its host
// token or its current certificate, never what the request says): a client certificate, and the
// serving certificate of the agent's endpoint for the address this server has for the host (the
// request's names are ignored). 404 when the server runs without TLS (no CA to sign with).

import { certificateRequestSchema } from "../../api/cert-wire.ts";
import type { CertificateAnswer } from "../../api/cert-wire.ts";
import { validityOf } from "../../api/tls.ts";
import { ErrorCodes, TiffinError } from "../../model/index.ts";
import type { ServerContext } from "../context.ts";
import { readJsonObject, sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { signHostCsr } from "../tls/ca.ts";
import { recordHostCert } from "../tls/host-certs.ts";
import type { LiveCa } from "../tls/live.ts";
import { hostCertNames } from "../tls/setup.ts";
import { requireSameHost } from "./agent.ts";

/** What the route signs with: the cluster's CAs as they are now (a rotation changes them) and how long a host certificate lives. */
export interface HostCertSigner {
  live: LiveCa;
  lifetimeMs: number;
}

/** Registers `POST /v1/agent/certificate`; `signer` null: TLS is off, the route answers 404. */
export function agentCertRoutes(r: Router, ctx: ServerContext, signer: HostCertSigner | null): void {
  r.add("POST", "/v1/agent/certificate", "host", async ({ req, res, hostId }) => {
    const parsed = certificateRequestSchema.safeParse(await readJsonObject(req, '{"hostId": string, "csr": string (PEM)}'));
    if (!parsed.success) throw new TiffinError(ErrorCodes.BadRequest, `certificate request: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ")}`, { hint: 'send {"hostId": "<your host id>", "csr": "<PEM certificate request>"}' });
    requireSameHost(hostId, parsed.data.hostId);
    if (signer === null) throw new TiffinError(ErrorCodes.NotFound, "this server runs without TLS: it has no CA to sign host certificates", { hint: "agents of a plain-HTTP server use their host tokens alone; start the server with --tls (on by default off loopback)" });
    const ca = signer.live.signer;
    // Its endpoint serves with it too: the names are the address this server has for the host.
    const names = hostCertNames(ctx.mirror.hosts.get(parsed.data.hostId)?.value.address);
    const certificate = await signHostCsr(ca, parsed.data.csr, parsed.data.hostId, ctx.clock.now(), signer.lifetimeMs, names);
    const notAfter = validityOf(certificate).notAfter;
    // Which CA each host's newest certificate came from: what `tiffin ca status` counts and a finish checks.
    await recordHostCert(ctx.store, parsed.data.hostId, { caHash: ca.hash, notAfter });
    ctx.log.info({ hostId: parsed.data.hostId, caHash: ca.hash, notAfter: new Date(notAfter).toISOString() }, "host certificate issued");
    // The trust bundle rides along: during a rotation the agent learns the new CA here, before servers serve under it.
    sendJson(res, 200, { certificate, ca: ca.certPem, notAfter, trust: signer.live.trustPems } satisfies CertificateAnswer);
  });
}
