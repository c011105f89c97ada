// Network namespaces for the fan-out benchmark (and its test): one bridge namespace, an origin
// namespace and N host namespaces, each joined to the bridge by a veth pair with a token-bucket
// limit (tc tbf) on both ends, so every host has its own rate-limited up and down link like a
// machine in a rack. Needs root (`ip netns`, `tc`). Nothing leaves the namespaces: there is no
// link to the root namespace and no route out.
//
// Names are `<base>-<pid>-<role>`: the pid keeps parallel runs apart, and lets a later run remove
// what a crashed one left (namespaces whose pid is dead). Everything is removed by `remove()`,
// which the caller runs in a `finally`; `removeOnSignal` covers SIGINT/SIGTERM.

import { execFile, execFileSync, spawn } from "node:child_process";
import type { ChildProcess, SpawnOptions } from "node:child_process";
import { promisify } from "node:util";
import { pool } from "./lib.ts";

const run = promisify(execFile);

/** Namespace names start with this, then `-<pid>-`. */
export const DefaultBase = "tfan";

/** One namespace with its end of a link: the device `eth0` with address `ip` (a /16). */
export interface Member {
  ns: string;
  ip: string;
}

/** Options of `createNet`. */
export interface NetOptions {
  /** Host namespaces to make (besides the origin). */
  hosts: number;
  /** tc rate of every link, each direction, e.g. "100mbit". @default "100mbit" */
  rate?: string;
  /** Rate of the origin's link. @default rate */
  originRate?: string;
  /** Name prefix before `-<pid>-`. @default DefaultBase */
  base?: string;
  /** The /16 used, as its first two octets. @default "10.77" */
  subnet?: string;
}

/** The namespaces of one run. */
export interface Net {
  prefix: string;
  bridge: string;
  origin: Member;
  hosts: Member[];
  /** Starts `cmd args` inside `ns` (ip netns exec); the child is killed by `remove()` if still running. */
  spawn(ns: string, cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** Bytes sent (tx) and received (rx) by `ns`'s eth0 so far, from the kernel's counters. */
  counters(ns: string): Promise<{ tx: number; rx: number }>;
  /** Kills the children still running, then deletes every namespace (and so every veth). Idempotent. */
  remove(): Promise<void>;
}

/** Deletes namespaces named `<base>-<pid>-...` whose pid no longer runs (a crashed run's); returns their names. */
export function removeLeftovers(base = DefaultBase): string[] {
  const gone: string[] = [];
  for (const ns of listNamespaces()) {
    const m = new RegExp(`^${base}-(\\d+)-`).exec(ns);
    if (!m || alive(Number(m[1]))) continue;
    deleteNamespaceSync(ns);
    gone.push(ns);
  }
  return gone;
}

/** Names of every network namespace on the machine. */
export function listNamespaces(): string[] {
  const out = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  return out.split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) => n !== "");
}

/** Makes the bridge, origin and host namespaces with their rate-limited links. On failure, removes what it made. */
export async function createNet(opts: NetOptions): Promise<Net> {
  const base = opts.base ?? DefaultBase;
  removeLeftovers(base);
  const prefix = `${base}-${process.pid}-`;
  const rate = opts.rate ?? "100mbit";
  const subnet = opts.subnet ?? "10.77";
  if (opts.hosts > 250 * 250) throw new Error(`at most ${250 * 250} hosts in a /16`);
  const bridge = `${prefix}br`;
  const origin: Member = { ns: `${prefix}o`, ip: `${subnet}.0.1` };
  const hosts: Member[] = Array.from({ length: opts.hosts }, (_, i) => ({ ns: `${prefix}h${i + 1}`, ip: `${subnet}.${1 + Math.floor(i / 250)}.${1 + (i % 250)}` }));
  const children = new Set<ChildProcess>();
  const made: string[] = [];
  let removed = false;

  const net: Net = {
    prefix,
    bridge,
    origin,
    hosts,
    spawn(ns, cmd, args, o = {}) {
      const child = spawn("ip", ["netns", "exec", ns, cmd, ...args], o);
      children.add(child);
      child.once("exit", () => children.delete(child));
      return child;
    },
    async counters(ns) {
      const { stdout } = await run("ip", ["-n", ns, "-s", "-j", "link", "show", "dev", "eth0"]);
      const s = (JSON.parse(stdout) as { stats64: { tx: { bytes: number }; rx: { bytes: number } } }[])[0]?.stats64;
      if (!s) throw new Error(`no eth0 counters in ${ns}`);
      return { tx: s.tx.bytes, rx: s.rx.bytes };
    },
    async remove() {
      if (removed) return;
      removed = true;
      await killAll(children);
      for (const ns of made.reverse()) deleteNamespaceSync(ns);
      unregister(net);
    },
  };
  registry.add(net);
  // Registered before anything exists so a signal during setup removes the part already made.
  const ip = (...a: string[]): Promise<unknown> => run("ip", a);
  const tc = (ns: string, dev: string): Promise<unknown> => run("tc", ["-n", ns, "qdisc", "add", "dev", dev, "root", "tbf", "rate", rateOf(ns), "burst", "128kb", "latency", "50ms"]);
  const rateOf = (ns: string): string => (ns === origin.ns ? (opts.originRate ?? rate) : rate);
  try {
    for (const ns of [bridge, origin.ns, ...hosts.map((h) => h.ns)]) {
      await ip("netns", "add", ns);
      made.push(ns);
    }
    await ip("-n", bridge, "link", "add", "br0", "type", "bridge");
    await ip("-n", bridge, "link", "set", "br0", "up");
    const members = [origin, ...hosts];
    await pool(members.map((m, i) => ({ m, i })), 8, async ({ m, i }) => {
      const port = `v${i}`;
      await ip("-n", bridge, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", m.ns);
      await ip("-n", bridge, "link", "set", port, "master", "br0");
      await ip("-n", bridge, "link", "set", port, "up");
      await ip("-n", m.ns, "addr", "add", `${m.ip}/16`, "dev", "eth0");
      await ip("-n", m.ns, "link", "set", "eth0", "up");
      await ip("-n", m.ns, "link", "set", "lo", "up");
      // Both ends: the host's eth0 limits what it sends, the bridge port what it receives.
      await tc(m.ns, "eth0");
      await tc(bridge, port);
    });
  } catch (err) {
    await net.remove();
    throw err;
  }
  return net;
}

/** Removes every live Net of this process on SIGINT/SIGTERM (then exits 130/143), and on a plain exit. */
export function removeOnSignal(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  const sync = (): void => {
    for (const net of registry) {
      for (const ns of listNamespaces().filter((n) => n.startsWith(net.prefix))) deleteNamespaceSync(ns);
    }
  };
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: removing the benchmark's namespaces\n`);
      for (const net of registry) void net.remove();
      sync();
      process.exit(code);
    });
  }
  process.once("exit", sync);
}

const registry = new Set<Net>();
let signalsInstalled = false;

function unregister(net: Net): void {
  registry.delete(net);
}

function deleteNamespaceSync(ns: string): void {
  try {
    execFileSync("ip", ["netns", "delete", ns], { stdio: "ignore" });
  } catch {
    // already gone
  }
}

async function killAll(children: Set<ChildProcess>): Promise<void> {
  const waits = [...children].map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once("exit", () => resolve());
    c.kill("SIGKILL");
  }));
  await Promise.all(waits);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
