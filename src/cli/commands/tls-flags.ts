// The TLS flags of `tiffin server` (issue 17, mTLS): --tls (TLS on loopback too; it is on by default
// everywhere else), --no-tls (plain HTTP off loopback, warned), --ca-cert/--ca-key (the CA the cluster's first server takes instead of making
// one) and --host-cert-lifetime (how long an agent's client certificate lives; agents renew at 2/3).

import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { ErrorCodes, TiffinError } from "../../model/errors.ts";
import { parseDuration } from "../../spec/api.ts";

/** The flags as commander hands them over. */
export interface TlsFlags {
  tls?: boolean;
  caCert?: string;
  caKey?: string;
  hostCertLifetime: string;
}

/** What `startServer({ tls })` takes (server/tls/setup.ts TlsOptions). */
export interface ServerTlsOptions {
  on?: boolean;
  ca?: { certPem: string; keyPem: string };
  hostCertLifetimeMs: number;
}

/** Adds the TLS flags to `tiffin server`. */
export function tlsOptions(cmd: Command): Command {
  return cmd
    .option("--tls", "serve HTTPS with the cluster CA on loopback too (the default on any other address; agents then need --ca-hash, the CLI tiffin context add --ca-hash)")
    .option("--no-tls", "serve plain HTTP even off loopback: INSECURE (tokens, logs and exec in clear); for a network you trust entirely")
    .option("--ca-cert <file>", "the cluster CA certificate (PEM) the cluster's first server takes instead of making one; with --ca-key")
    .option("--ca-key <file>", "the cluster CA's private key (PEM, PKCS#8 ECDSA P-256); with --ca-cert")
    .option("--host-cert-lifetime <duration>", "how long an agent's client certificate lives; agents renew at two thirds of it", "720h");
}

/** The server's TLS options of the flags; a usage error for a lone --ca-cert or --ca-key, an unreadable file, or a bad lifetime. */
export function parseTlsFlags(f: TlsFlags): ServerTlsOptions {
  const lifetime = parseDuration(f.hostCertLifetime);
  if (lifetime === null || lifetime < 1000) throw new TiffinError(ErrorCodes.Usage, `--host-cert-lifetime takes a duration of at least 1s, got "${f.hostCertLifetime}"`, { hint: "e.g. --host-cert-lifetime 720h (30 days; agents renew at two thirds of it)" });
  if ((f.caCert === undefined) !== (f.caKey === undefined)) throw new TiffinError(ErrorCodes.Usage, "--ca-cert and --ca-key go together", { hint: "give both (the CA certificate and its key, PEM), or neither: the first server then makes a CA" });
  const read = (flag: string, file: string): string => {
    try {
      return readFileSync(file, "utf8");
    } catch (err) {
      throw new TiffinError(ErrorCodes.Usage, `${flag} ${file}: ${(err as Error).message}`, { hint: `check the path given to ${flag}` });
    }
  };
  return {
    hostCertLifetimeMs: lifetime,
    ...(f.tls !== undefined ? { on: f.tls } : {}),
    ...(f.caCert !== undefined && f.caKey !== undefined ? { ca: { certPem: read("--ca-cert", f.caCert), keyPem: read("--ca-key", f.caKey) } } : {}),
  };
}
