// Machines for the multi-host test: one network namespace per agent, each joined by a veth pair to a
// bridge in the root namespace that holds the server's address, all on a private /24 that no route
// leaves. Like separate machines on one switch: the server (root namespace) reaches every agent and
// every agent the server, each at its own address. Needs root and `ip`.
//
// Names carry the test's pid (`tfmh<pid>br`, `tfmh-<pid>-a1`), so a later run removes what a crashed
// one left (a dead pid), and parallel runs keep apart; the third octet of the subnet comes from it too.

import { execFileSync, spawnSync } from "node:child_process";
import { alive } from "./harness.ts";

/** One namespace standing for a machine: its name and its address on the bridge. */
export interface Machine {
  ns: string;
  ip: string;
}

/** What `createMachines` made; `remove()` takes it all down. */
export interface Machines {
  /** The server's address: the bridge's, in the root namespace. */
  serverIp: string;
  machines: Machine[];
  /** The /24's first three octets, e.g. "10.78.42". */
  subnet: string;
  remove(): void;
}

const base = "tfmh";

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** True where the test can make namespaces: root, with iproute2. */
export function canMakeMachines(): boolean {
  return process.getuid?.() === 0 && spawnSync("ip", ["netns", "list"]).status === 0;
}

/** Removes the namespaces and bridges of runs whose process is gone. */
export function removeLeftovers(): void {
  const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").map((l) => l.split(" ")[0] ?? "");
  for (const ns of namespaces) {
    const m = new RegExp(`^${base}-(\\d+)-`).exec(ns);
    if (m && !alive(Number(m[1]))) spawnSync("ip", ["netns", "del", ns]);
  }
  const links = execFileSync("ip", ["-o", "link", "show", "type", "bridge"], { encoding: "utf8" });
  for (const m of links.matchAll(new RegExp(`^\\d+: (${base}(\\d+)br)[:@]`, "gm"))) {
    if (!alive(Number(m[2]))) spawnSync("ip", ["link", "del", m[1]!]);
  }
}

/**
 * Makes `count` machines. `extra(i, subnet)` lists more addresses (CIDR) for machine i: `card` ones
 * on an interface (card0) made before eth0 (so listed first, as a second network card is), `eth0` ones on
 * eth0 after its first.
 */
export function createMachines(count: number, extra: (i: number, subnet: string) => { card?: string[]; eth0?: string[] } = () => ({})): Machines {
  removeLeftovers();
  const pid = process.pid;
  const subnet = `10.78.${20 + (pid % 200)}`;
  const bridge = `${base}${pid}br`;
  const machines: Machine[] = Array.from({ length: count }, (_, i) => ({ ns: `${base}-${pid}-a${i + 1}`, ip: `${subnet}.${i + 2}` }));
  const remove = (): void => {
    for (const m of machines) spawnSync("ip", ["netns", "del", m.ns]);
    spawnSync("ip", ["link", "del", bridge]);
  };
  try {
    ip("link", "add", bridge, "type", "bridge");
    ip("addr", "add", `${subnet}.1/24`, "dev", bridge);
    ip("link", "set", bridge, "up");
    machines.forEach((m, i) => {
      const more = extra(i, subnet);
      ip("netns", "add", m.ns);
      ip("-n", m.ns, "link", "set", "lo", "up");
      if (more.card?.length) {
        // A veth pair inside the namespace (no dummy driver needed): card0 is the second card.
        ip("-n", m.ns, "link", "add", "card0", "type", "veth", "peer", "name", "card0p");
        for (const a of more.card) ip("-n", m.ns, "addr", "add", a, "dev", "card0");
        ip("-n", m.ns, "link", "set", "card0p", "up");
        ip("-n", m.ns, "link", "set", "card0", "up");
      }
      const port = `${base}${pid}v${i + 1}`;
      ip("link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", m.ns);
      ip("link", "set", port, "master", bridge);
      ip("link", "set", port, "up");
      ip("-n", m.ns, "addr", "add", `${m.ip}/24`, "dev", "eth0");
      for (const a of more.eth0 ?? []) ip("-n", m.ns, "addr", "add", a, "dev", "eth0");
      ip("-n", m.ns, "link", "set", "eth0", "up");
    });
  } catch (err) {
    remove();
    throw err;
  }
  return { serverIp: `${subnet}.1`, machines, subnet, remove };
}
