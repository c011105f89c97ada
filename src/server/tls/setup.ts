// Whether and how a server speaks TLS (issue 17). On by default whenever the server listens on
// anything but loopback (`DefaultTlsOffLoopback`): then every call of the cluster is mTLS (users'
// with the CA pinned, agents' to servers and to each other with host certificates, the server's to
// the agents' endpoints with its own: ../agent-dial.ts). On loopback (tests, `tiffin dev`) plain
// HTTP unless `--tls`, and the log says so; off loopback `--no-tls` is the only way to plain HTTP,
// with a warning. With TLS: the cluster CA (ca.ts) and this server's certificate.

import { hostname, networkInterfaces } from "node:os";
import type { Logger } from "pino";
import type { Store } from "../../state/store.ts";
import { isLoopback } from "../http/tls-listener.ts";
import type { ServerTls } from "../http/tls-listener.ts";
import { caHashOf } from "../../api/tls.ts";
import { shareCa } from "./ca.ts";
import type { ClusterCa } from "./ca.ts";
import { LiveCa } from "./live.ts";

/** TLS options of `startServer`. */
export interface TlsOptions {
  /** false: plain HTTP even off loopback (`--no-tls`, warned). @default DefaultTlsOffLoopback off loopback, false on loopback */
  on?: boolean;
  /** The CA to use on the cluster's first start (`--ca-cert`/`--ca-key`, PEM). @default made on first start */
  ca?: { certPem: string; keyPem: string };
  /** How long an agent's client certificate lives (`--host-cert-lifetime`); agents renew at two thirds. @default 30 days */
  hostCertLifetimeMs?: number;
  /** How often a server reads the store for a CA rotation (tls/live.ts). @default 5000 */
  caPollMs?: number;
}

/** The default lifetime of a host certificate. */
export const DefaultHostCertLifetimeMs = 30 * 86_400_000;

/** What a TLS server runs with. */
export interface TlsSetup {
  ca: ClusterCa;
  server: ServerTls;
  hostCertLifetimeMs: number;
  /** The CAs in use, following rotations. */
  live: LiveCa;
}

/** Whether a server off loopback speaks TLS when not told (see the top). */
export const DefaultTlsOffLoopback = true;

/** Whether the server speaks TLS: as asked, else the default off loopback, never on loopback. Pure. */
export function tlsWanted(on: boolean | undefined, listenHost: string | undefined, offLoopback = DefaultTlsOffLoopback): boolean {
  return on ?? (offLoopback && !isLoopback(listenHost));
}

/**
 * The names a server's certificate lists: its listen and advertised hosts, this machine's name, and
 * loopback; listening on every interface, the addresses of this machine's interfaces too (`addresses`:
 * agents and users dial one of them, `--server https://10.0.0.5:7070`, and must find it listed). Pure.
 */
export function serverNames(listenHost: string | undefined, advertise: string | undefined, machine: string, addresses: string[] = []): string[] {
  const adv = advertise !== undefined ? URL.parse(advertise)?.hostname.replace(/^\[|\]$/g, "") : undefined;
  const any = listenHost === undefined || listenHost === "" || listenHost === "0.0.0.0" || listenHost === "::";
  return [...new Set([...(any ? [] : [listenHost]), ...(adv ? [adv] : []), machine, ...(any ? addresses : []), "localhost", "127.0.0.1", "::1"])];
}

/** The addresses of this machine's interfaces but loopback's (IPv6 link-local left out: they need a zone). */
function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => !a.internal && !a.address.startsWith("fe80:")).map((a) => a.address));
}

/**
 * The names a host's certificate lists for serving its endpoint: the host part of the endpoint
 * address the host registered (`host:port`, `[v6]:port`), the one the server and peers dial. Only
 * what the server knows of that host: never what the agent's certificate request asks for. Pure.
 */
export function hostCertNames(address: string | undefined): string[] {
  const m = address === undefined ? null : /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):\d{1,5}$/.exec(address);
  const host = m?.[1] ?? m?.[2];
  return host === undefined || host === "" ? [] : [host];
}

/** The CA and this server's certificate, or null when the server speaks plain HTTP (logged as such). */
export async function setupTls(o: { store: Store; dataDir: string; listenHost: string | undefined; advertise: string | undefined; now: number; tls: TlsOptions | undefined; log: Logger }): Promise<TlsSetup | null> {
  if (!tlsWanted(o.tls?.on, o.listenHost)) {
    if (isLoopback(o.listenHost)) o.log.info({ listen: o.listenHost }, "plain HTTP on loopback only (start with --tls for HTTPS)");
    else o.log.warn({ listen: o.listenHost ?? "every interface" }, "INSECURE: --no-tls: plain HTTP off loopback: tokens, logs, exec sessions and secrets travel in clear and anyone on the network can act as a server; start without --no-tls for HTTPS with the cluster CA");
    return null;
  }
  const ca = await shareCa(o.store, o.dataDir, o.now, o.tls?.ca, o.log);
  const names = serverNames(o.listenHost, o.advertise, hostname(), interfaceAddresses());
  // The set in the store may be mid-rotation: LiveCa serves under the right CA and follows changes.
  const live = await LiveCa.open({ store: o.store, log: o.log, names, dataDir: o.dataDir, now: () => Date.now(), ...(o.tls?.caPollMs !== undefined ? { pollMs: o.tls.caPollMs } : {}) });
  o.log.info({ caHash: ca.hash, caCert: `${o.dataDir}/ca.crt`, names, ...(live.set.previous !== null ? { rotatingFrom: caHashOf(live.set.previous.certPem) } : {}) }, "TLS on: cluster CA (agents: --ca-hash; CLI: tiffin context add --ca-hash)");
  return { ca: live.signer, server: live.serverTls, hostCertLifetimeMs: o.tls?.hostCertLifetimeMs ?? DefaultHostCertLifetimeMs, live };
}
