// What the agent tells the server about its machine when it registers. Parsing is pure (tested by
// tables); the I/O below it is a thin shell over os, fs.statfs and /etc/os-release.

import dgram from "node:dgram";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import type { HostCapacity, HostInventory } from "../model/index.ts";

/** Parses /etc/os-release (shell-style KEY=value lines) into the OS id and version. */
export function parseOsRelease(text: string): { id: string; version: string } {
  const vars = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    vars.set(m[1]!, unquote(m[2]!));
  }
  return { id: vars.get("ID") || "unknown", version: vars.get("VERSION_ID") || "unknown" };
}

function unquote(v: string): string {
  const q = v[0];
  if ((q === '"' || q === "'") && v.length >= 2 && v.endsWith(q)) {
    const inner = v.slice(1, -1);
    return q === '"' ? inner.replace(/\\(["\\$`])/g, "$1") : inner;
  }
  return v;
}

/** A listen host that binds every interface ("0.0.0.0", "::" or empty). */
export function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "";
}

/** How `advertiseAddress` may do better than a guess for a wildcard listener. */
export interface AdvertiseHints {
  /** `--advertise`, parsed (parseAdvertise): wins over everything; a null port means the bound one. */
  advertise?: { host: string; port: number | null };
  /** This machine's address on its route to the server (localAddressToward), or null. */
  towardServer?: string | null;
}

/**
 * The address the server and other agents dial for this agent's endpoint (logs, exec, package
 * pieces): `--advertise` when given; else the listen host when it is one address; for a wildcard
 * listener, this machine's address on the route to the server (the one the server sees it come
 * from), else the first external IPv4 address, else loopback.
 */
export function advertiseAddress(host: string, port: number, interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>, hints: AdvertiseHints = {}): string {
  if (hints.advertise) return joinHostPort(hints.advertise.host, hints.advertise.port ?? port);
  let h = host;
  if (isWildcard(h)) {
    const ext = Object.values(interfaces)
      .flat()
      .find((i) => i !== undefined && i.family === "IPv4" && !i.internal);
    h = hints.towardServer ?? ext?.address ?? "127.0.0.1";
  }
  return joinHostPort(h, port);
}

function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Parses `--advertise`: `host`, `host:port` or `[v6]:port`. Null when it names no address others
 * could dial (empty, a wildcard, a port outside 1..65535).
 */
export function parseAdvertise(text: string): { host: string; port: number | null } | null {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text.trim()) ?? /^([^:[\]]+)(?::(\d+))?$/.exec(text.trim());
  if (!m) return null;
  const host = m[1]!;
  if (isWildcard(host) || /\s|\//.test(host)) return null;
  if (m[2] === undefined) return { host, port: null };
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host, port } : null;
}

/**
 * This machine's address on its route to `serverUrl` (the first of a comma-separated list): a UDP
 * socket connected there (no packet is sent) and asked for its local address. Null when the URL is
 * not one or the name does not resolve within 2 s.
 */
export async function localAddressToward(serverUrl: string): Promise<string | null> {
  let url: URL;
  try {
    url = new URL(serverUrl.split(",")[0]!.trim());
  } catch {
    return null;
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const socket = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
  return await new Promise<string | null>((resolve) => {
    const timer = setTimeout(() => done(null), 2000);
    const done = (address: string | null): void => {
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // closed already
      }
      resolve(address);
    };
    socket.once("error", () => done(null));
    socket.connect(port, host, () => {
      try {
        socket.remoteAddress(); // throws unless connected (a name that did not resolve)
        const local = socket.address().address;
        done(isWildcard(local) ? null : local);
      } catch {
        done(null);
      }
    });
  });
}

/** Splits `host:port` (IPv6 in brackets); a missing port is 0. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(listen) ?? /^([^:]*)(?::(\d+))?$/.exec(listen);
  if (!m) return { host: listen, port: 0 };
  return { host: m[1] || "127.0.0.1", port: m[2] ? Number(m[2]) : 0 };
}

/** Inputs of `detectInventory` that do not come from the machine. */
export interface InventoryInput {
  name: string;
  address: string;
  dataDir: string;
  labels: Record<string, string>;
  /** The sandbox runtime, as `describeRuntime` words it ("crun 1.8.1", "none"). @default "none" */
  runtime?: string;
  /** Capabilities specs may ask for here (`--allow-capabilities`). @default none */
  capabilities?: string[];
  /** The agent runs isolation "none" tasks (`--allow-unsandboxed`). @default false */
  unsandboxed?: boolean;
  /** Replaces detected values (several dev agents share one machine). */
  resources?: Partial<HostCapacity>;
}

const MiB = 1024 * 1024;

/** Detects this machine's inventory. */
export async function detectInventory(input: InventoryInput): Promise<HostInventory> {
  const osRelease = await fs.promises.readFile("/etc/os-release", "utf8").catch(() => fs.promises.readFile("/usr/lib/os-release", "utf8").catch(() => ""));
  const st = await fs.promises.statfs(input.dataDir);
  return {
    name: input.name,
    address: input.address,
    cores: input.resources?.cores ?? os.availableParallelism(),
    memoryMiB: input.resources?.memoryMiB ?? Math.floor(os.totalmem() / MiB),
    // Space available to the agent, not the disk's size: other things live on that disk too.
    diskMiB: input.resources?.diskMiB ?? Math.floor((st.bavail * st.bsize) / MiB),
    os: parseOsRelease(osRelease),
    kernel: os.release(),
    labels: { ...input.labels },
    runtime: input.runtime ?? "none",
    ...(input.capabilities && input.capabilities.length > 0 ? { capabilities: [...input.capabilities] } : {}),
    unsandboxed: input.unsandboxed === true,
  };
}
