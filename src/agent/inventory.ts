// What the agent tells the server about its machine when it registers. Parsing is pure (tested by
// tables); the I/O below it is a thin shell over os, fs.statfs and /etc/os-release.

import fs from "node:fs";
import os from "node:os";
import type { HostInventory } from "../model/index.ts";

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

/** The address to advertise for a listener: a wildcard bind is replaced by a routable IPv4 address. */
export function advertiseAddress(host: string, port: number, interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>): string {
  let h = host;
  if (h === "0.0.0.0" || h === "::" || h === "") {
    const ext = Object.values(interfaces)
      .flat()
      .find((i) => i !== undefined && i.family === "IPv4" && !i.internal);
    h = ext?.address ?? "127.0.0.1";
  }
  return h.includes(":") ? `[${h}]:${port}` : `${h}:${port}`;
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
  /** Replaces detected values (several dev agents share one machine). */
  resources?: Partial<{ cores: number; memoryMiB: number; diskMiB: number }>;
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
  };
}
