// Whether and how a server speaks TLS (issue 17). Meant to be on by default whenever the server
// listens on anything but loopback (`DefaultTlsOffLoopback`); that default is held back (opt-in with
// `--tls`) until the agent's own endpoint (logs, exec, peer pieces) speaks HTTPS too: the server's
// proxy and peers still call it over plain HTTP (the agents' swarm calls to the server, tracker and
// origin pieces, already speak HTTPS with the host certificate). A plain server says so in its
// log, louder off loopback. With TLS: the cluster CA (ca.ts) and this server's certificate.

import { hostname } from "node:os";
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
  /** @default DefaultTlsOffLoopback off loopback (false for now, see the top), false on loopback */
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

/** Whether a server off loopback speaks TLS when not told (see the top: to become true). */
export const DefaultTlsOffLoopback = false;

/** Whether the server speaks TLS: as asked, else the default off loopback, never on loopback. Pure. */
export function tlsWanted(on: boolean | undefined, listenHost: string | undefined, offLoopback = DefaultTlsOffLoopback): boolean {
  return on ?? (offLoopback && !isLoopback(listenHost));
}

/** The names a server's certificate lists: its listen and advertised hosts, this machine's name, and loopback. Pure. */
export function serverNames(listenHost: string | undefined, advertise: string | undefined, machine: string): string[] {
  const adv = advertise !== undefined ? URL.parse(advertise)?.hostname.replace(/^\[|\]$/g, "") : undefined;
  const any = listenHost === undefined || listenHost === "0.0.0.0" || listenHost === "::";
  return [...new Set([...(any ? [] : [listenHost]), ...(adv ? [adv] : []), machine, "localhost", "127.0.0.1", "::1"])];
}

/** The CA and this server's certificate, or null when the server speaks plain HTTP (logged as such). */
export async function setupTls(o: { store: Store; dataDir: string; listenHost: string | undefined; advertise: string | undefined; now: number; tls: TlsOptions | undefined; log: Logger }): Promise<TlsSetup | null> {
  if (!tlsWanted(o.tls?.on, o.listenHost)) {
    if (isLoopback(o.listenHost)) o.log.info({ listen: o.listenHost }, "plain HTTP on loopback (start with --tls for HTTPS)");
    else o.log.warn({ listen: o.listenHost ?? "every interface" }, "plain HTTP off loopback: tokens travel in clear; start with --tls for HTTPS with the cluster CA");
    return null;
  }
  const ca = await shareCa(o.store, o.dataDir, o.now, o.tls?.ca, o.log);
  const names = serverNames(o.listenHost, o.advertise, hostname());
  // The set in the store may be mid-rotation: LiveCa serves under the right CA and follows changes.
  const live = await LiveCa.open({ store: o.store, log: o.log, names, dataDir: o.dataDir, now: () => Date.now(), ...(o.tls?.caPollMs !== undefined ? { pollMs: o.tls.caPollMs } : {}) });
  o.log.info({ caHash: ca.hash, caCert: `${o.dataDir}/ca.crt`, names, ...(live.set.previous !== null ? { rotatingFrom: caHashOf(live.set.previous.certPem) } : {}) }, "TLS on: cluster CA (agents: --ca-hash; CLI: tiffin context add --ca-hash)");
  return { ca: live.signer, server: live.serverTls, hostCertLifetimeMs: o.tls?.hostCertLifetimeMs ?? DefaultHostCertLifetimeMs, live };
}
