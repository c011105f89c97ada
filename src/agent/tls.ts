// The agent's side of mTLS (issue 17), as kubelet TLS bootstrap: the server's CA is pinned by its
// hash (`--ca-hash`, checked before the join token is sent) and kept in DIR/ca.crt; after the
// join-token registration the agent makes a key (DIR/host.key, 0600: it never leaves the machine),
// sends a certificate request with its host token, and from then on presents DIR/host.crt on every
// call. It renews at two thirds of the certificate's life, with a new key, proving itself with the
// current certificate. `fetch` always uses the newest material. The same certificate serves the
// agent's endpoint (logs, exec, pieces; the server lists the host's registered address in it), so a
// certificate that does not list the address the agent now registers is replaced at once.
//
//
// CA rotation (src/server/tls/rotation.ts): every heartbeat answer names the CA that signs host
// certificates and the trusted ones; an agent whose certificate or trust differs renews at once
// (`caRenewNeeded`), and the certificate answer brings the trust bundle, kept in DIR/ca.crt (one or
// two PEM certificates). A restart with the --ca-hash of a CA the cluster has since rotated away
// keeps DIR/ca.crt (the trust it learnt over verified connections) and says so.

import https from "node:https";
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { certificateAnswerSchema } from "../api/cert-wire.ts";
import { checkAnswer } from "../api/agent-wire.ts";
import type { CallResult } from "../api/agent-client.ts";
import { caHashOf, newKeyAndCsr, pinServerCa, sameCaHash, tlsFetch, validityOf } from "../api/tls.ts";
import { ErrorCodes, TiffinError } from "../model/errors.ts";

/** Options of `AgentTls.open`. */
export interface AgentTlsOptions {
  dataDir: string;
  /** The server URL(s), comma-separated: TLS when they are https://. */
  server: string;
  /** `sha256:<hex>` of the cluster CA (`--ca-hash`). Needed on first start against an https server. */
  caHash?: string;
  log: Logger;
  /** The server calls go to now. */
  baseUrl: () => string;
  /** The endpoint address the host registers (`host:port`): a certificate that does not list its
   * host is replaced at once (the agent moved), as its endpoint serves with it. @default not checked */
  endpointAddress?: () => string;
}

/** Whether certificate `pem` lists the host part of endpoint address `address` (`host:port`, `[v6]:port`). */
export function certCovers(pem: string, address: string): boolean {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):\d{1,5}$/.exec(address);
  const host = m?.[1] ?? m?.[2];
  if (host === undefined) return false;
  const cert = new X509Certificate(pem);
  return (/^[\d.]+$|:/.test(host) ? cert.checkIP(host) : cert.checkHost(host)) !== undefined;
}

/** What the agent's endpoint serves with (issue 17): the cluster CA and the host certificate. */
export interface ServingTls {
  ca: string;
  cert: string;
  key: string;
}

/** What an agent holds: the hash of the CA that signed its certificate (null: none, or from no CA it
 * trusts) and the hashes of the CAs it trusts. */
export interface HeldCa {
  issuer: string | null;
  trust: string[];
}

/** Whether what the server says (a heartbeat answer's `ca`) asks for a new certificate now: it signs
 * with another CA than this agent's certificate came from, or trusts another set of CAs. Pure. */
export function caRenewNeeded(held: HeldCa, server: { signing: string; trust: readonly string[] }): boolean {
  if (held.issuer !== server.signing) return true;
  const mine = new Set(held.trust);
  return mine.size !== new Set(server.trust).size || server.trust.some((h) => !mine.has(h));
}

/** The PEM certificates of a bundle text, in order. Pure. */
export function pemsOf(text: string): string[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => `${m[0]}\n`);
}

/** When to renew a certificate valid until `notAfter`, seen at `now`: at two thirds of what is left. Pure. */
export function renewAt(now: number, notAfter: number): number {
  return now + Math.max(0, Math.floor(((notAfter - now) * 2) / 3));
}

/** The agent's TLS material and its renewal. */
export class AgentTls {
  readonly #o: AgentTlsOptions;
  /** The CAs trusted (PEM bundle): one, or two during a CA rotation. */
  #trust: string;
  /** Who to renew as when a heartbeat says the CAs changed (set by ensure/renew). */
  #who: { hostId: string; hostToken: () => string | null } | null = null;
  #renewing: Promise<unknown> | null = null;
  /** The current certificate, its host, when it expires and when to renew it (epoch ms). */
  #cert: { pem: string; key: string; hostId: string; notAfter: number; renewAt: number } | null = null;
  #fetch: typeof fetch;
  #agent: { pem: string | null; agent: https.Agent } | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #listeners: ((t: ServingTls) => void)[] = [];

  private constructor(o: AgentTlsOptions, ca: string) {
    this.#o = o;
    this.#trust = ca;
    this.#fetch = tlsFetch({ ca });
    this.#loadSaved();
  }

  /** The agent's TLS, or null when the server speaks plain HTTP. Pins the CA on first start. */
  static async open(o: AgentTlsOptions): Promise<AgentTls | null> {
    const urls = o.server.split(",").map((u) => u.trim()).filter((u) => u !== "");
    if (!urls.some((u) => u.startsWith("https://"))) return null;
    const caFile = path.join(o.dataDir, "ca.crt");
    let ca: string | null = null;
    try {
      ca = fs.readFileSync(caFile, "utf8");
    } catch {
      ca = null;
    }
    const saved = ca;
    if (ca !== null && o.caHash !== undefined && !pemsOf(ca).some((pem) => sameCaHash(o.caHash ?? "", caHashOf(pem)))) ca = null;
    if (ca === null) {
      if (o.caHash === undefined) throw new TiffinError(ErrorCodes.Usage, `the server ${urls[0] ?? ""} speaks HTTPS and ${caFile} holds no pinned CA`, { hint: "give the cluster CA's hash: tiffin agent --ca-hash sha256:... (the server logs it at start as caHash)" });
      try {
        ca = await pinServerCa(urls[0] ?? "", o.caHash);
      } catch (err) {
        // The hash of a CA the cluster rotated away (the unit's flag is as it was at the install): the
        // trust learnt since over verified connections stands; a hash the server does not present widens nothing.
        if (saved === null || !(err instanceof TiffinError) || err.code !== ErrorCodes.TlsUntrusted) throw err;
        o.log.warn({ caHash: o.caHash, kept: pemsOf(saved).map(caHashOf) }, "the server no longer presents the --ca-hash CA: keeping the CAs in DATA_DIR/ca.crt (learnt in a CA rotation)");
        return new AgentTls(o, saved);
      }
      fs.writeFileSync(caFile, ca, { mode: 0o644 });
      o.log.info({ caHash: caHashOf(ca) }, "cluster CA pinned");
    }
    return new AgentTls(o, ca);
  }

  /** A fetch over TLS with the current certificate (a stable function: renewal swaps what it uses). */
  readonly fetch: typeof fetch = (input, init) => this.#fetch(input, init);

  /** A kept-alive https.Agent trusting the cluster CA and presenting the current certificate, for the
   * agent's node:http calls to the server (swarm tracker, origin pieces); a new one after a renewal. */
  httpsAgent(): https.Agent {
    const pem = this.#cert?.pem ?? null;
    if (this.#agent === null || this.#agent.pem !== pem) {
      const material = this.#cert === null ? {} : { cert: this.#cert.pem, key: this.#cert.key };
      this.#agent = { pem, agent: new https.Agent({ keepAlive: true, maxSockets: 8, ca: this.#trust, ...material }) };
    }
    return this.#agent.agent;
  }

  /** The cluster CAs (PEM, one or two during a rotation) the agent trusts. */
  get ca(): string {
    return this.#trust;
  }

  /** What the endpoint serves with now, or null before the first certificate. */
  serving(): ServingTls | null {
    return this.#cert === null ? null : { ca: this.#trust, cert: this.#cert.pem, key: this.#cert.key };
  }

  /** Calls `cb` with each new certificate (the endpoint swaps its serving material). */
  onChange(cb: (t: ServingTls) => void): void {
    this.#listeners.push(cb);
  }

  /** When the current certificate expires (epoch ms), or null before the first one. */
  get notAfter(): number | null {
    return this.#cert?.notAfter ?? null;
  }

  /**
   * Makes sure the agent holds a certificate for `hostId` (after each registration): one saved for
   * this host and not near its end is kept, else a new one is requested with `hostToken`.
   */
  async ensure(hostId: string, hostToken: () => string | null): Promise<CallResult<unknown>> {
    this.#who = { hostId, hostToken };
    const c = this.#cert;
    // A saved certificate from a CA this agent no longer trusts (it was down through a CA rotation and
    // came back with the new --ca-hash) would be refused on every call: a new one instead.
    const address = this.#o.endpointAddress?.() ?? "";
    if (c !== null && c.hostId === hostId && Date.now() < c.renewAt && this.held().issuer !== null && (address === "" || certCovers(c.pem, address))) {
      this.#schedule(hostId, hostToken);
      return { ok: true, value: null };
    }
    return this.renew(hostId, hostToken);
  }

  /** Requests a new certificate for a new key now; schedules the next renewal. */
  async renew(hostId: string, hostToken: () => string | null): Promise<CallResult<unknown>> {
    this.#who = { hostId, hostToken };
    const { keyPem, csrPem } = await newKeyAndCsr(hostId);
    const r = await this.#request(hostId, hostToken() ?? "", csrPem);
    if (!r.ok) {
      this.#o.log.warn({ error: r.message, status: r.status }, "getting a host certificate failed");
      this.#schedule(hostId, hostToken, 1_000);
      return r;
    }
    const notAfter = validityOf(r.value.certificate).notAfter;
    const trust = r.value.trust;
    if (trust !== undefined && trust.length > 0 && trust.join("") !== this.#trust) {
      // Written before the certificate: a restart in between trusts the CA that signed it.
      this.#trust = trust.join("");
      writeAtomic(path.join(this.#o.dataDir, "ca.crt"), this.#trust, 0o644);
      this.#o.log.info({ trust: trust.map(caHashOf) }, "cluster CAs trusted now");
    }
    fs.writeFileSync(path.join(this.#o.dataDir, "host.key"), keyPem, { mode: 0o600 });
    fs.writeFileSync(path.join(this.#o.dataDir, "host.crt"), r.value.certificate, { mode: 0o644 });
    this.#use({ pem: r.value.certificate, key: keyPem, hostId, notAfter });
    this.#o.log.info({ notAfter: new Date(notAfter).toISOString() }, "host certificate installed");
    this.#schedule(hostId, hostToken);
    return r;
  }

  /** What this agent holds: its certificate's CA and the CAs it trusts (hashes). */
  held(): HeldCa {
    const trust = pemsOf(this.#trust);
    let issuer: string | null = null;
    if (this.#cert !== null) {
      const cert = new X509Certificate(this.#cert.pem);
      const ca = trust.find((pem) => cert.verify(new X509Certificate(pem).publicKey));
      issuer = ca === undefined ? null : caHashOf(ca);
    }
    return { issuer, trust: trust.map(caHashOf) };
  }

  /** A heartbeat answer's CAs: renews at once when they differ from what this agent holds (a CA
   * rotation), one renewal at a time; a failed one is retried by the renewal schedule. */
  serverCa(server: { signing: string; trust: readonly string[] }): void {
    const who = this.#who;
    if (this.#closed || who === null || this.#renewing !== null || !caRenewNeeded(this.held(), server)) return;
    this.#o.log.info({ signing: server.signing, trust: server.trust, held: this.held() }, "the cluster's CAs changed: renewing the host certificate now");
    this.#renewing = this.renew(who.hostId, who.hostToken).finally(() => (this.#renewing = null));
  }

  /** Stops renewing. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
  }

  async #request(hostId: string, token: string, csr: string): Promise<CallResult<{ certificate: string; trust?: string[] }>> {
    try {
      const res = await this.#fetch(`${this.#o.baseUrl()}/v1/agent/certificate`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ hostId, csr }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      if (res.status !== 200) return { ok: false, status: res.status, code: null, message: text.slice(0, 300) };
      const checked = checkAnswer(certificateAnswerSchema, JSON.parse(text));
      return checked.ok ? checked : { ok: false, status: null, code: null, message: `the certificate answer is not of the expected shape (${checked.problem})` };
    } catch (err) {
      return { ok: false, status: null, code: null, message: err instanceof Error ? err.message : String(err) };
    }
  }

  #use(c: { pem: string; key: string; hostId: string; notAfter: number }): void {
    this.#cert = { ...c, renewAt: renewAt(Date.now(), c.notAfter) };
    this.#fetch = tlsFetch({ ca: this.#trust, cert: c.pem, key: c.key });
    for (const cb of this.#listeners) cb({ ca: this.#trust, cert: c.pem, key: c.key });
  }

  #schedule(hostId: string, hostToken: () => string | null, inMs?: number): void {
    if (this.#closed) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const c = this.#cert;
    const wait = inMs ?? (c === null ? 1_000 : c.renewAt - Date.now());
    this.#timer = setTimeout(() => void this.renew(hostId, hostToken), Math.max(100, wait));
    this.#timer.unref();
  }

  #loadSaved(): void {
    try {
      const pem = fs.readFileSync(path.join(this.#o.dataDir, "host.crt"), "utf8");
      const key = fs.readFileSync(path.join(this.#o.dataDir, "host.key"), "utf8");
      const cn = /^CN=(.+)$/m.exec(new X509Certificate(pem).subject)?.[1] ?? "";
      this.#use({ pem, key, hostId: cn, notAfter: validityOf(pem).notAfter });
    } catch {
      this.#cert = null;
    }
  }
}

/** Writes `file` whole or not at all (a temporary file renamed over it). */
function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, text, { mode });
  fs.renameSync(tmp, file);
}
