// The kernel mode of the local proxy, as data: the nftables ruleset of one agent, rendered from its
// services' local ports and endpoints (kube-proxy's approach). Pure: no I/O; kernel-proxy.ts applies it.
//
// One table per agent (`ip tiffin_<hash of the data dir>`), so several agents on one machine (dev, tests)
// never touch each other's rules. Its `out` chain (nat, output hook) DNATs each new connection to the
// service's 127.0.0.1:PORT to one endpoint, round robin (`numgen inc`), or rejects it with a TCP reset when
// the service has no endpoint (the client learns at once, no timeout). Established connections keep their
// endpoint (conntrack). When an endpoint is not on loopback, the packet leaves the host from 127.0.0.1:
// the `post` chain masquerades such DNATed connections (source 127.0.0.0/8) to the outgoing interface's
// address, and the kernel must route loopback sources (`net.ipv4.conf.all.route_localnet=1`).
//
// What stays with the user-space relay (its listener still holds the port): a service whose endpoints are
// not all IPv4 addresses (NAT cannot turn a connection to 127.0.0.1 into an IPv6 one), and a service whose
// endpoints are not known yet.
import { createHash } from "node:crypto";
import net from "node:net";
import path from "node:path";

/** One service as the kernel rules see it. */
export interface KernelService {
  service: string;
  /** The local port tasks connect to (127.0.0.1:port); the relay's listener holds it. */
  port: number;
  /** Its serving endpoints (address, port), or null while they are not known. */
  endpoints: readonly { address: string; port: number }[] | null;
}

/** What renderRuleset made. */
export interface RenderedRules {
  /** The `nft -f -` input: the table deleted and refilled in one transaction. */
  script: string;
  /** Services DNATed by the kernel. */
  kernel: string[];
  /** Services left to the user-space relay, with why. */
  relayed: { service: string; why: string }[];
  /** Some endpoint is off loopback: the host must route 127.0.0.0/8 sources (route_localnet). */
  needsRouteLocalnet: boolean;
}

/** The nftables table of the agent whose data dir is `dataDir` (a hash: stable, short, one per agent). */
export function tableName(dataDir: string): string {
  return `tiffin_${createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 12)}`;
}

/** Whether an address is on the IPv4 loopback network. */
function isLoopback(address: string): boolean {
  return address.startsWith("127.");
}

/** Why a service cannot be DNATed by the kernel, or null when it can. */
export function relayReason(s: KernelService): string | null {
  if (s.endpoints === null) return "endpoints not known yet";
  const bad = s.endpoints.find((e) => !net.isIPv4(e.address));
  if (bad !== undefined) return `endpoint ${bad.address} is not an IPv4 address (NAT cannot turn 127.0.0.1 into it)`;
  return null;
}

/** The `out` chain's rule of a service the kernel handles. */
function serviceRule(port: number, endpoints: readonly { address: string; port: number }[]): string {
  const match = `ip daddr 127.0.0.1 tcp dport ${port}`;
  if (endpoints.length === 0) return `${match} reject with tcp reset`;
  const map = endpoints.map((e, i) => `${i} : ${e.address} . ${e.port}`).join(", ");
  return `${match} dnat ip addr . port to numgen inc mod ${endpoints.length} map { ${map} }`;
}

/** The whole ruleset of one agent's table (see the file comment); `comment` names its owner (data dir). */
export function renderRuleset(table: string, services: readonly KernelService[], comment: string): RenderedRules {
  const sorted = [...services].sort((a, b) => a.port - b.port || a.service.localeCompare(b.service));
  const rules: string[] = [];
  const kernel: string[] = [];
  const relayed: { service: string; why: string }[] = [];
  let offLoopback = false;
  for (const s of sorted) {
    const why = relayReason(s);
    if (why !== null || s.endpoints === null) {
      relayed.push({ service: s.service, why: why ?? "endpoints not known yet" });
      continue;
    }
    kernel.push(s.service);
    if (s.endpoints.some((e) => !isLoopback(e.address))) offLoopback = true;
    rules.push(`    ${serviceRule(s.port, s.endpoints)} comment ${quote(s.service)}`);
  }
  const lines = [
    `table ip ${table} {}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    `  comment ${quote(comment)}`,
    "  chain out {",
    "    type nat hook output priority -100; policy accept;",
    ...rules,
    "  }",
  ];
  if (offLoopback) {
    lines.push(
      "  chain post {",
      "    type nat hook postrouting priority 100; policy accept;",
      "    ip saddr 127.0.0.0/8 ip daddr != 127.0.0.0/8 ct status dnat masquerade",
      "  }",
    );
  }
  lines.push("}", "");
  return { script: lines.join("\n"), kernel, relayed, needsRouteLocalnet: offLoopback };
}

/** The `nft -f -` input that removes an agent's table (nothing to do when it does not exist). */
export function renderDelete(table: string): string {
  return `table ip ${table} {}\ndelete table ip ${table}\n`;
}

/** An nft string literal (service names and paths hold no quote, but a comment must never end early). */
function quote(s: string): string {
  return `"${s.replace(/["\\\n]/g, "_").slice(0, 120)}"`;
}
