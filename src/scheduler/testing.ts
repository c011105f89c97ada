// Builders of made-up hosts and specs for the scheduler's tests and benchmark (not used in production).

import type { JobSpec } from "../model/index.ts";
import type { SchedHost } from "./types.ts";

/** What a test usually varies in a spec. */
export interface SpecParts {
  replicas?: number;
  cpu?: number;
  memoryMiB?: number;
  diskMiB?: number;
  spread?: JobSpec["spread"];
  antiAffinity?: string | null;
  os?: { id: string; version: string | null } | null;
  kernel?: string | null;
  labels?: Record<string, string>;
  isolation?: "sandbox" | "none";
  capabilities?: JobSpec["capabilities"];
}

/** A complete spec with defaults for everything the scheduler does not read. */
export function makeSpec(name: string, p: SpecParts = {}): JobSpec {
  return {
    name,
    command: ["/bin/true"],
    env: {},
    files: {},
    replicas: p.replicas ?? 1,
    resources: { cpu: p.cpu ?? 1, memoryMiB: p.memoryMiB ?? 512, diskMiB: p.diskMiB ?? 0 },
    constraints: { os: p.os ?? null, kernel: p.kernel ?? null, labels: p.labels ?? {} },
    spread: p.spread ?? "rack",
    antiAffinity: p.antiAffinity ?? null,
    ports: [],
    restart: { backoffInitialMs: 1000, backoffMaxMs: 60_000, moveAfterFailures: 5 },
    health: null,
    stop: { signal: "SIGTERM", graceMs: 10_000 },
    maintenance: "move",
    disconnect: { stopAfterMs: null },
    packages: [],
    ...(p.isolation ? { isolation: p.isolation } : {}),
    ...(p.capabilities ? { capabilities: p.capabilities } : {}),
  };
}

/** What a test usually varies in a host. */
export interface HostParts {
  rack?: string;
  cluster?: string;
  datacenter?: string;
  cores?: number;
  memoryMiB?: number;
  diskMiB?: number;
  os?: { id: string; version: string };
  kernel?: string;
  labels?: Record<string, string>;
  schedulable?: boolean;
  sandbox?: boolean;
  capabilities?: string[];
  unsandboxed?: boolean;
}

/** A host with defaults: 8 cores, 16 GiB, 100 GiB disk, Debian 12, kernel 6.1, rack r1 of c1 in dc1. */
export function makeHost(id: string, p: HostParts = {}): SchedHost {
  return {
    id,
    name: id,
    domain: { region: "region1", datacenter: p.datacenter ?? "dc1", cluster: p.cluster ?? "c1", rack: p.rack ?? "r1" },
    cores: p.cores ?? 8,
    memoryMiB: p.memoryMiB ?? 16384,
    diskMiB: p.diskMiB ?? 102400,
    os: p.os ?? { id: "debian", version: "12" },
    kernel: p.kernel ?? "6.1.0-18-amd64",
    labels: p.labels ?? {},
    schedulable: p.schedulable ?? true,
    ...(p.sandbox === undefined ? {} : { sandbox: p.sandbox }),
    ...(p.capabilities === undefined ? {} : { capabilities: p.capabilities }),
    ...(p.unsandboxed === undefined ? {} : { unsandboxed: p.unsandboxed }),
  };
}
