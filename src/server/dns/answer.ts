// What the server's DNS answers, as a pure function of the question and the registry (no packets, no
// sockets: server.ts encodes with dns-packet). The zone is `service.tiffin`:
//   NAME.service.tiffin               A / AAAA: every endpoint's address, shuffled; SRV: one per
//                                     endpoint (its first port, target INDEX.NAME.service.tiffin)
//   INDEX.NAME.service.tiffin         A / AAAA / SRV of that task's endpoint
//   _PORT._tcp.NAME.service.tiffin    SRV of the named port of every endpoint (RFC 2782 style)
// A service of a namespace other than "default" is NAME.NS wherever NAME stands above (issue 17).
// A service with no serving endpoint (all failing) answers NOERROR with no records (the name exists,
// as for Consul); a name that is no service, or no task of it, NXDOMAIN; a name outside the zone
// REFUSED (the server is no recursive resolver). Every record has a short TTL: clients ask again soon.
import { isIP } from "node:net";
import type { Endpoint } from "../../model/index.ts";

/** The zone the server answers for. */
export const DnsZone = "service.tiffin";
/** The TTL of every answer, in seconds: short, so a client learns of a failure within about a second. */
export const DnsTtlSeconds = 1;

/** The record types answered; other types of a known name get NOERROR with no records. */
export type DnsRecord =
  | { type: "A" | "AAAA"; name: string; ttl: number; data: string }
  | { type: "SRV"; name: string; ttl: number; data: { priority: number; weight: number; port: number; target: string } };

/** An answer: its response code, the answer records and the additional ones (SRV targets' addresses). */
export interface DnsAnswer {
  rcode: "NOERROR" | "NXDOMAIN" | "REFUSED";
  answers: DnsRecord[];
  additionals: DnsRecord[];
}

/** What the answer reads: a service's endpoints by its lower-cased name (DNS names are
 * case-insensitive), or null when there is no such service. */
export type EndpointLookup = (service: string) => readonly Endpoint[] | null;

/** Where a name points inside the zone: a service, maybe one task of it, maybe one named port. */
export type ZoneName = { service: string; index: number | null; port: string | null };

/** Parses a question's name (any case, with or without the final dot); null when outside the zone. */
export function parseZoneName(qname: string): ZoneName | "outside" | "invalid" {
  const name = qname.toLowerCase().replace(/\.$/, "");
  if (!name.endsWith(`.${DnsZone}`)) return "outside";
  const labels = name.slice(0, -DnsZone.length - 1).split(".");
  if (labels.some((l) => l === "")) return "invalid";
  // A service of namespace NS is NAME.NS (model/namespace.ts: its id). No service name starts with a
  // digit or "_", so INDEX. and _PORT._tcp. in front are never part of the name.
  const service = (rest: string[]): string | null => (rest.length === 1 || rest.length === 2 ? rest.join(".") : null);
  if (labels[0]?.startsWith("_") && labels[1] === "_tcp") {
    const s = service(labels.slice(2));
    return s === null ? "invalid" : { service: s, index: null, port: labels[0].slice(1) };
  }
  if (/^\d{1,6}$/.test(labels[0] ?? "")) {
    const s = service(labels.slice(1));
    return s === null ? "invalid" : { service: s, index: Number(labels[0]), port: null };
  }
  const s = service(labels);
  return s === null ? "invalid" : { service: s, index: null, port: null };
}

/** The answer to one question. `shuffle` reorders a list in place (random in the server, fixed in tests). */
export function answerQuestion(q: { name: string; type: string }, lookup: EndpointLookup, shuffle: <T>(xs: T[]) => T[]): DnsAnswer {
  const at = parseZoneName(q.name);
  if (at === "outside") return { rcode: "REFUSED", answers: [], additionals: [] };
  const none: DnsAnswer = { rcode: "NXDOMAIN", answers: [], additionals: [] };
  if (at === "invalid") return none;
  const all = lookup(at.service);
  if (all === null) return none;
  let eps = [...all];
  if (at.index !== null) {
    eps = eps.filter((e) => e.index === at.index);
    if (eps.length === 0) return none;
  }
  if (at.port !== null && !eps.some((e) => e.ports.some((p) => p.name.toLowerCase() === at.port))) return all.length === 0 ? { rcode: "NOERROR", answers: [], additionals: [] } : none;
  shuffle(eps);
  const name = q.name.replace(/\.$/, "");
  const target = (e: Endpoint): string => `${e.index}.${e.service.toLowerCase()}.${DnsZone}`;
  const address = (e: Endpoint, owner: string): DnsRecord | null => {
    const v = isIP(e.address);
    return v === 4 ? { type: "A", name: owner, ttl: DnsTtlSeconds, data: e.address } : v === 6 ? { type: "AAAA", name: owner, ttl: DnsTtlSeconds, data: e.address } : null;
  };
  switch (q.type) {
    case "A":
    case "AAAA":
    case "ANY": {
      if (at.port !== null) return { rcode: "NOERROR", answers: [], additionals: [] };
      const answers = eps.map((e) => address(e, name)).filter((r): r is DnsRecord => r !== null && (q.type === "ANY" || r.type === q.type));
      return { rcode: "NOERROR", answers, additionals: [] };
    }
    case "SRV": {
      const answers: DnsRecord[] = [];
      const additionals: DnsRecord[] = [];
      for (const e of eps) {
        const p = at.port === null ? e.ports[0] : e.ports.find((x) => x.name.toLowerCase() === at.port);
        if (!p) continue;
        const isAddr = isIP(e.address) !== 0;
        answers.push({ type: "SRV", name, ttl: DnsTtlSeconds, data: { priority: 1, weight: 1, port: p.port, target: isAddr ? target(e) : e.address } });
        const a = address(e, target(e));
        if (a) additionals.push(a);
      }
      return { rcode: "NOERROR", answers, additionals };
    }
    default:
      return { rcode: "NOERROR", answers: [], additionals: [] };
  }
}

/** Shuffles in place with Math.random (Fisher-Yates): DNS spreads clients, it is no security boundary. */
export function shuffleInPlace<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
