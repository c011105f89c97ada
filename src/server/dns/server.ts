// The server's DNS (UDP and TCP on one address): decodes questions and encodes answers with
// dns-packet (the well-kept codec: no hand-written wire format here), answering from this server's
// mirror of the registry (answer.ts decides). Every server answers, leader or not: the endpoints are
// stored records, so a follower's answers are the leader's decisions as of its mirror. A packet that
// does not decode is dropped (UDP) or ends the connection (TCP): a resolver retries, a fuzzer gets
// nothing, and the server keeps answering.
import { createSocket } from "node:dgram";
import type { Socket as UdpSocket } from "node:dgram";
import { createServer } from "node:net";
import type { Server as TcpServer, Socket } from "node:net";
import dnsPacket from "dns-packet";
import type { Answer, Packet } from "dns-packet";
import type { Logger } from "pino";
import type { Endpoint } from "../../model/index.ts";
import type { Mirror } from "../mirror.ts";
import { serviceIndex } from "../endpoints/query.ts";
import { answerQuestion, shuffleInPlace } from "./answer.ts";
import type { DnsRecord, EndpointLookup } from "./answer.ts";

/** A running DNS listener. */
export interface DnsHandle {
  /** `host:port` it answers on (the port picked when 0 was asked). */
  address: string;
  port: number;
  close(): Promise<void>;
}

const Rcodes = { NOERROR: 0, NXDOMAIN: 3, REFUSED: 5 } as const;
/** Largest UDP answer without EDNS (RFC 1035); a bigger one is cut and flagged so the client asks over TCP. */
const UdpMax = 512;
/** How long a TCP connection may stay idle before it is closed. */
const TcpIdleMs = 10_000;

/** How many shuffled answers are kept per question: each answer picks one at random. */
const ShufflesPerQuestion = 8;
/** Questions kept; past that the cache starts again (a bound on what a flood of names can hold). */
const CacheMax = 20_000;

/**
 * Encoded answers by question, so a repeated question costs a copy and two bytes of id rather than a
 * decode and an encode (the bench's 50,000 answers per core need it: bench/RESULTS.md). Keyed by the
 * query's bytes after its id (so flags and EDNS records are part of the key) and dropped whole when
 * the registry's stamp moves. Each question keeps up to ShufflesPerQuestion differently shuffled
 * answers, one picked at random per reply, so clients still spread over the endpoints.
 */
export class AnswerCache {
  readonly #lookup: EndpointLookup;
  readonly #stamp: () => number;
  readonly #maxBytes: number;
  #at = -1;
  #answers = new Map<string, Buffer[]>();

  constructor(lookup: EndpointLookup, stamp: () => number, maxBytes = Infinity) {
    this.#lookup = lookup;
    this.#stamp = stamp;
    this.#maxBytes = maxBytes;
  }

  /** The answer to a query's bytes (null: they do not decode as a query). */
  respond(query: Buffer): Buffer | null {
    if (query.length < 12) return null;
    const stamp = this.#stamp();
    if (stamp !== this.#at || this.#answers.size >= CacheMax) {
      this.#at = stamp;
      this.#answers = new Map();
    }
    const key = query.toString("latin1", 2);
    let kept = this.#answers.get(key);
    if (kept === undefined) this.#answers.set(key, (kept = []));
    const pick = Math.floor(Math.random() * ShufflesPerQuestion);
    let out = kept[pick];
    if (out === undefined) {
      const fresh = respond(query, this.#lookup, this.#maxBytes);
      if (fresh === null) {
        this.#answers.delete(key);
        return null;
      }
      if (kept.length < ShufflesPerQuestion) kept.push(fresh);
      return fresh;
    }
    out = Buffer.from(out);
    query.copy(out, 0, 0, 2); // this query's id
    return out;
  }
}

/** A lookup over the mirror's endpoints by lower-cased service name, rebuilt when the registry changes. */
export function mirrorLookup(mirror: Mirror): EndpointLookup {
  let stamp = -1;
  let byName = new Map<string, Endpoint[]>();
  return (service) => {
    if (stamp !== mirror.endpointsStamp) {
      stamp = mirror.endpointsStamp;
      byName = new Map();
      for (const name of serviceIndex(mirror).keys()) byName.set(name.toLowerCase(), [...(mirror.endpoints.get(name)?.values() ?? [])].map((e) => e.value));
    }
    return byName.get(service) ?? null;
  };
}

/** The answer packet to a query packet's bytes, or null when they do not decode as a query. */
export function respond(query: Buffer, lookup: EndpointLookup, maxBytes = Infinity): Buffer | null {
  let q: Packet;
  try {
    q = dnsPacket.decode(query);
  } catch {
    return null;
  }
  if (q.type !== "query") return null;
  const question = q.questions?.[0];
  const rd = (q.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  if (!question) return dnsPacket.encode({ type: "response", id: q.id ?? 0, flags: rd | 1, questions: [] }); // FORMERR
  const a = answerQuestion({ name: question.name, type: question.type }, lookup, shuffleInPlace);
  const packet: Packet = {
    type: "response", id: q.id ?? 0, flags: dnsPacket.AUTHORITATIVE_ANSWER | rd | Rcodes[a.rcode],
    questions: [question], answers: a.answers.map(toAnswer), additionals: a.additionals.map(toAnswer),
  };
  let out = dnsPacket.encode(packet);
  if (out.length > maxBytes) {
    // Truncated (TC): as many answers as fit, no additionals; the client asks again over TCP.
    const answers = packet.answers ?? [];
    let n = answers.length;
    do {
      n = Math.floor(n / 2);
      out = dnsPacket.encode({ ...packet, flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: answers.slice(0, n), additionals: [] });
    } while (out.length > maxBytes && n > 0);
  }
  return out;
}

function toAnswer(r: DnsRecord): Answer {
  return r.type === "SRV" ? { type: "SRV", name: r.name, ttl: r.ttl, class: "IN", data: r.data } : { type: r.type, name: r.name, ttl: r.ttl, class: "IN", data: r.data };
}

/** Starts answering on `listen` (`host:port`; port 0 picks one, the same for UDP and TCP) from
 * `lookup` (the server's: `mirrorLookup(mirror)`); `stamp` changes whenever what `lookup` answers
 * may have (the server's: `mirror.endpointsStamp`), dropping cached answers. */
export async function startDns(opts: { listen: { host: string | undefined; port: number }; lookup: EndpointLookup; stamp: () => number; log: Logger }): Promise<DnsHandle> {
  const udpAnswers = new AnswerCache(opts.lookup, opts.stamp, UdpMax);
  const tcpAnswers = new AnswerCache(opts.lookup, opts.stamp);
  const host = opts.listen.host ?? "0.0.0.0";
  const type = host.includes(":") ? "udp6" : "udp4";
  // Port 0: take a UDP port, then TCP on the same one (retrying a few times if TCP finds it taken).
  for (let tries = 0; ; tries++) {
    const udp = createSocket({ type, reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(opts.listen.port, host, () => {
        udp.off("error", reject);
        resolve();
      });
    });
    const port = udp.address().port;
    const tcp = createServer((sock) => serveTcp(sock, tcpAnswers));
    const ok = await new Promise<boolean>((resolve, reject) => {
      tcp.once("error", (err: NodeJS.ErrnoException) => (err.code === "EADDRINUSE" && opts.listen.port === 0 && tries < 5 ? resolve(false) : reject(err)));
      tcp.listen(port, host, () => resolve(true));
    }).catch((err: unknown) => {
      udp.close();
      throw err;
    });
    if (!ok) {
      udp.close();
      continue;
    }
    serveUdp(udp, udpAnswers, opts.log);
    opts.log.info({ dns: `${host}:${port}` }, "DNS answering for service.tiffin");
    return { address: `${host.includes(":") ? `[${host}]` : host}:${port}`, port, close: () => closeBoth(udp, tcp) };
  }
}

function serveUdp(udp: UdpSocket, answers: AnswerCache, log: Logger): void {
  udp.on("message", (msg, rinfo) => {
    const out = answers.respond(msg);
    if (out !== null) udp.send(out, rinfo.port, rinfo.address);
  });
  udp.on("error", (err) => log.warn({ err }, "DNS socket error"));
}

/** TCP: each message is a 2-byte length then the packet (RFC 1035 4.2.2), several per connection. */
function serveTcp(sock: Socket, answers: AnswerCache): void {
  let buf: Buffer = Buffer.alloc(0);
  sock.setTimeout(TcpIdleMs, () => sock.destroy());
  sock.on("error", () => sock.destroy());
  sock.on("data", (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      const out = answers.respond(Buffer.from(buf.subarray(2, 2 + len)));
      buf = buf.subarray(2 + len);
      if (out === null) {
        sock.destroy();
        return;
      }
      const head = Buffer.alloc(2);
      head.writeUInt16BE(out.length);
      sock.write(Buffer.concat([head, out]));
    }
  });
}

async function closeBoth(udp: UdpSocket, tcp: TcpServer): Promise<void> {
  await new Promise<void>((resolve) => udp.close(() => resolve()));
  await new Promise<void>((resolve) => tcp.close(() => resolve()));
}
