// The CAs a running TLS server uses, kept in step with the store (issue 17, CA rotation; decisions in
// rotation.ts). Every server reads `/secrets/ca` every `pollMs` (and the rotate and finish routes at
// once after their write): when the set changed it trusts the new bundle, signs host certificates
// with the new current CA and, when the serving CA changed, issues itself a new serving certificate
// and loads it into the running HTTPS server (setSecureContext: no restart, kept connections stay).
// Its own calls to other servers (global dispatcher) trust the bundle too.

import type https from "node:https";
import { createHash, X509Certificate } from "node:crypto";
import { rootCertificates } from "node:tls";
import { Agent, setGlobalDispatcher } from "undici";
import type { Logger } from "pino";
import { caHashOf, validityOf } from "../../api/tls.ts";
import type { Store } from "../../state/store.ts";
import type { ServerTls } from "../http/tls-listener.ts";
import { caOf, issueServerCert, readCaSet, writeCaFiles } from "./ca.ts";
import type { ClusterCa } from "./ca.ts";
import { rolesOf } from "./rotation.ts";
import type { CaSet } from "./rotation.ts";

/** What heartbeat answers tell agents: the CA that signs host certificates and every trusted one (hashes). */
export interface CaInfo {
  signing: string;
  trust: string[];
}

/** How long a server's own certificate lives unless told. */
export const DefaultServerCertLifetimeMs = 365 * 86_400_000;

/** Options of LiveCa. */
export interface LiveCaOptions {
  store: Store;
  log: Logger;
  /** The names the serving certificate lists (setup.ts serverNames). */
  names: string[];
  now: () => number;
  /** Where DIR/ca.crt and DIR/ca.key are rewritten when the signing CA changes. @default not written */
  dataDir?: string;
  /** How often the store is read for a rotation (and the serving certificate checked). @default 5000 */
  pollMs?: number;
  /** How long this server's own certificate lives; it is renewed at two thirds of that, while the
   * server runs (as agents renew theirs). @default 365 days */
  serverCertLifetimeMs?: number;
}

/** The CA set in use on this server. */
export class LiveCa {
  readonly #o: LiveCaOptions;
  #text = "";
  #set: CaSet | null = null;
  #signer: ClusterCa | null = null;
  #serving: { caHash: string; tls: ServerTls } | null = null;
  /** When the serving certificate is renewed (epoch ms): at two thirds of its life. */
  #renewServingAt = Infinity;
  #trust: { pems: string[]; keys: X509Certificate[]; hashes: string[] } = { pems: [], keys: [], hashes: [] };
  #servers: https.Server[] = [];
  #timer: NodeJS.Timeout | null = null;
  #busy: Promise<boolean> | null = null;
  /** issuedByTrusted's answers by certificate digest, for the current trust (cleared when it changes). */
  readonly #verdicts = new Map<string, boolean>();

  private constructor(o: LiveCaOptions) {
    this.#o = o;
  }

  /** Loads the stored set (shareCa made sure there is one) and issues the serving certificate. */
  static async open(o: LiveCaOptions): Promise<LiveCa> {
    const live = new LiveCa(o);
    if (!(await live.refresh())) throw new Error("the store holds no cluster CA");
    return live;
  }

  /** The CA that signs host certificates now. */
  get signer(): ClusterCa {
    if (this.#signer === null) throw new Error("LiveCa used before open");
    return this.#signer;
  }

  /** What the HTTPS listener starts with. */
  get serverTls(): ServerTls {
    if (this.#serving === null) throw new Error("LiveCa used before open");
    return this.#serving.tls;
  }

  /** The stored set as this server uses it. */
  get set(): CaSet {
    if (this.#set === null) throw new Error("LiveCa used before open");
    return this.#set;
  }

  /** Every trusted CA (PEM), the retired one first. */
  get trustPems(): string[] {
    return [...this.#trust.pems];
  }

  /** For heartbeat answers: the signing CA and the trusted ones, by hash. */
  info(): CaInfo {
    return { signing: this.signer.hash, trust: [...this.#trust.hashes] };
  }

  /** Whether a CA this server trusts now signed `raw` (a peer's certificate, DER): checked per
   * request, as a kept-alive connection verified before a finish outlives the CA it came from. */
  issuedByTrusted(raw: Buffer): boolean {
    const key = createHash("sha256").update(raw).digest("base64");
    const known = this.#verdicts.get(key);
    if (known !== undefined) return known;
    let ok = false;
    try {
      const cert = new X509Certificate(raw);
      ok = this.#trust.keys.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
    } catch {
      ok = false;
    }
    // One signature check per certificate and trust, not per request (an agent calls every second).
    if (this.#verdicts.size >= 10_000) this.#verdicts.clear();
    this.#verdicts.set(key, ok);
    return ok;
  }

  /** Loads new serving material into `server` whenever it changes. */
  attach(server: https.Server): void {
    this.#servers.push(server);
  }

  /** Reads the store every pollMs from now on. */
  start(): void {
    const every = this.#o.pollMs ?? 5000;
    this.#timer = setInterval(() => void this.refresh().catch((err: unknown) => this.#o.log.warn({ err }, "reading the cluster CA failed")), every);
    this.#timer.unref();
  }

  /** Stops reading the store. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
  }

  /** Takes the stored set if it changed; true when there is one. One at a time. */
  refresh(): Promise<boolean> {
    this.#busy ??= this.#refresh().finally(() => (this.#busy = null));
    return this.#busy;
  }

  async #refresh(): Promise<boolean> {
    const got = await readCaSet(this.#o.store);
    if (got === null) return false;
    const due = this.#serving !== null && this.#o.now() >= this.#renewServingAt;
    if (got.text === this.#text && !due) return true;
    const roles = rolesOf(got.set);
    const signer = await caOf(roles.signsHosts, "the cluster CA");
    const servesHash = caHashOf(roles.serves.certPem);
    const bundle = roles.trust.join("");
    let serving = this.#serving;
    if (serving === null || serving.caHash !== servesHash || serving.tls.caPem !== bundle || due) {
      const servesCa = servesHash === signer.hash ? signer : await caOf(roles.serves, "the cluster's serving CA");
      const kept = serving?.caHash === servesHash && !due ? serving.tls : null;
      const keep = kept !== null;
      const lifetime = this.#o.serverCertLifetimeMs ?? DefaultServerCertLifetimeMs;
      const issuedAt = this.#o.now();
      const cert = kept ?? { ...(await issueServerCert(servesCa, this.#o.names, issuedAt, lifetime)), caPem: bundle };
      if (!keep) {
        this.#renewServingAt = issuedAt + Math.floor((lifetime * 2) / 3);
        if (due) this.#o.log.info({ notAfter: new Date(validityOf(cert.certPem).notAfter).toISOString() }, "this server's certificate renewed");
      }
      // The chain sent: the serving certificate, then its CA (clients pin that one by hash).
      serving = { caHash: servesHash, tls: { certPem: cert.certPem, keyPem: cert.keyPem, caPem: bundle, chainPem: roles.serves.certPem } };
    }
    const hashes = roles.trust.map(caHashOf);
    const changed = this.#text !== "" && this.#text !== got.text;
    this.#text = got.text;
    this.#set = got.set;
    this.#signer = signer;
    this.#trust = { pems: roles.trust, keys: roles.trust.map((p) => new X509Certificate(p)), hashes };
    this.#verdicts.clear();
    this.#serving = serving;
    for (const s of this.#servers) s.setSecureContext({ cert: `${serving.tls.certPem.trim()}\n${roles.serves.certPem.trim()}\n`, key: serving.tls.keyPem, ca: bundle });
    // Calls to other servers: https trusts the cluster's CAs too and presents this server's certificate.
    setGlobalDispatcher(new Agent({ connect: { ca: [...rootCertificates, ...roles.trust], cert: serving.tls.certPem, key: serving.tls.keyPem } }));
    if (changed && this.#o.dataDir !== undefined) writeCaFiles(this.#o.dataDir, roles.signsHosts);
    if (changed) this.#o.log.info({ signing: signer.hash, serving: servesHash, trust: hashes }, "cluster CAs changed: now in use");
    return true;
  }
}
