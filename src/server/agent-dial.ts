// How the server dials an agent's endpoint (logs, log follow, exec, exec sessions, command checks).
// A server with TLS calls every agent over https, whatever the agent says of itself: under TLS an
// agent cannot act without its host certificate, which serves its endpoint too, so a flag the agent
// sent could only ever downgrade the call (and send its host token in clear). The agent must present
// the certificate of the host the server means to reach (CN = host id), for the address dialled, from
// the cluster CA only (not the system's roots); the server presents its own certificate as client.

import { checkServerIdentity } from "node:tls";
import type { PeerCertificate } from "node:tls";
import type { RequestOptions } from "node:https";
import { Agent } from "undici";

/** The server's material for dialing agents: the cluster CA and this server's certificate. */
export interface AgentDialTls {
  ca: string;
  cert: string;
  key: string;
}

/** Why the certificate `subject` an agent presented is not the one of host `hostId`, or undefined. Pure. */
export function agentIdentityProblem(hostId: string, subject: { CN?: unknown; O?: unknown } | undefined): string | undefined {
  if (subject?.O === "tiffin host" && subject.CN === hostId) return undefined;
  return `the agent presented the certificate of ${subject?.O === "tiffin host" ? `host ${String(subject.CN)}` : `"${String(subject?.CN ?? "?")}" (not a host certificate)`}, not of host ${hostId}`;
}

/** Plain HTTP dialing, for contexts without TLS. */
export function plainDial(): AgentDial {
  return new AgentDial(null);
}

/** Most hosts whose connections are kept; past it they are all closed and made again. */
const MaxKept = 4096;

/** Dials agents over https with the cluster CA pinned (a server with TLS) or over plain http. */
export class AgentDial {
  readonly #material: (() => AgentDialTls) | null;
  /** The material the kept connections were made with. */
  #madeWith: AgentDialTls | null = null;
  readonly #agents = new Map<string, Agent>();

  /** `tls`: the material, or where to read the current one (a CA rotation changes the trust and this
   * server's certificate while it runs: kept connections made with other material are closed). */
  constructor(tls: AgentDialTls | (() => AgentDialTls) | null) {
    this.#material = tls === null ? null : typeof tls === "function" ? tls : () => tls;
  }

  get #tls(): AgentDialTls | null {
    const m = this.#material?.() ?? null;
    const made = this.#madeWith;
    if (m !== null && (made === null || made.ca !== m.ca || made.cert !== m.cert || made.key !== m.key)) {
      if (made !== null) this.close();
      this.#madeWith = m;
    }
    return m;
  }

  /** Whether agents are called over https. */
  get tls(): boolean {
    return this.#tls !== null;
  }

  /** The URL of `path` on the endpoint at `address` (host:port). */
  url(address: string, path: string): string {
    return `${this.#tls === null ? "http" : "https"}://${address}${path}`;
  }

  /** A fetch to the agent of host `hostId` (https: its certificate checked, ours presented). */
  fetch(hostId: string): typeof fetch {
    if (this.#tls === null) return (input, init) => fetch(input, init);
    let dispatcher = this.#agents.get(hostId);
    if (dispatcher === undefined) {
      if (this.#agents.size >= MaxKept) this.close();
      dispatcher = new Agent({ connect: this.#connect(hostId) });
      this.#agents.set(hostId, dispatcher);
    }
    const d = dispatcher;
    // Node's fetch takes an undici dispatcher; Object.assign as undici's and node's declarations differ in detail.
    return (input, init) => fetch(input, Object.assign({}, init, { dispatcher: d }));
  }

  /** node:https options of a request to the agent of host `hostId` (exec sessions' upgrade). */
  requestOptions(hostId: string): RequestOptions {
    return this.#tls === null ? {} : { ...this.#connect(hostId), agent: false };
  }

  /** Closes the kept connections. */
  close(): void {
    for (const a of this.#agents.values()) void a.close().catch(() => undefined);
    this.#agents.clear();
  }

  #connect(hostId: string): { ca: string; cert: string; key: string; checkServerIdentity: (name: string, cert: PeerCertificate) => Error | undefined } {
    const tls = this.#tls;
    if (tls === null) throw new Error("AgentDial: no TLS material");
    return {
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      checkServerIdentity: (name, cert) => {
        const problem = checkServerIdentity(name, cert) ?? agentIdentityProblem(hostId, cert.subject);
        return problem === undefined ? undefined : typeof problem === "string" ? new Error(problem) : problem;
      },
    };
  }
}
