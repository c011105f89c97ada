// The services this host's tasks use (their jobs' `uses`), wired together: the registry view
// (directory.ts), one local proxy per service (proxy.ts) on a port that stays the same for the life of
// the agent's data dir (DATA/service-proxies.json, so a restarted agent listens where running tasks
// were told to connect), the start hold (gate.ts), and each task's services file, rewritten
// (atomically) whenever an endpoint it lists changes.
//
// Reachability: the proxy listens on the host's 127.0.0.1. A task on the host network (isolation
// "none", or a sandbox with network "host", the default) shares that loopback; a sandbox with
// network "private" has its own loopback, so a job may not combine `uses` with it (the spec refuses).
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { Assignment } from "../../api/types.ts";
import type { Endpoint } from "../../model/index.ts";
import { attemptsRoot } from "../helpers.ts";
import type { PortAllocator } from "../ports.ts";
import { ServiceDirectory } from "./directory.ts";
import { idToRef } from "../../model/index.ts";
import { ServicesFileName, serviceVar, startHold } from "./gate.ts";
import { ServiceProxy } from "./proxy.ts";
import type { ProxyStats } from "./proxy.ts";
import type { KernelRules } from "./kernel-proxy.ts";
import type { KernelService } from "./nft-rules.ts";

/** Options of LocalServices. */
export interface LocalServicesOptions {
  /** The fetch to use (the agent's over mTLS). @default globalThis.fetch */
  fetch?: typeof fetch;
  dataDir: string;
  ports: PortAllocator;
  log: Logger;
  baseUrl: () => string;
  token: () => string | null;
  skip?: (url: string) => void;
  /** Called when a held start may have become possible (endpoints or a proxy came). */
  onReady: () => void;
  /** @default 1000 */
  connectTimeoutMs?: number;
  /** Kernel mode: the agent's nftables table, kept equal to the proxies' ports and endpoints (the
   * relays keep listening: they hold the ports and serve if the rules are missing). null: relays only. */
  kernel?: KernelRules | null;
}

/** What a task of a job with `uses` gets: env vars and its services file (name -> content). */
export interface ServiceWiring {
  env: Record<string, string>;
  files: Record<string, { content: string; mode: number }>;
}

/** See the file comment. */
export class LocalServices {
  readonly #o: LocalServicesOptions;
  readonly #dir: ServiceDirectory;
  readonly #proxies = new Map<string, { proxy: ServiceProxy; port: number | null }>();
  readonly #saved: Record<string, number>;
  #desired: Assignment[] = [];
  /** The content last written per services file. */
  readonly #written = new Map<string, string>();
  #closed = false;
  /** Whether the kernel table was loaded (or found to have nothing to hold) since the agent started. */
  #kernelSynced = false;

  constructor(o: LocalServicesOptions) {
    this.#o = o;
    this.#saved = readSaved(this.#file());
    this.#dir = new ServiceDirectory({
      baseUrl: o.baseUrl, token: o.token, log: o.log, ...(o.skip ? { skip: o.skip } : {}), ...(o.fetch ? { fetch: o.fetch } : {}),
      onChange: (services) => this.#changed(services),
    });
  }

  /** The host's desired set changed: follow the services its live assignments use. */
  update(desired: readonly Assignment[]): void {
    this.#desired = desired.filter((a) => a.attempt.desired === "run" && (a.spec.uses ?? []).length > 0);
    const used = new Set(this.#desired.flatMap((a) => (a.spec.uses ?? []).map((u) => u.service)));
    this.#dir.follow(used);
    for (const s of used) if (!this.#proxies.has(s)) this.#open(s);
    this.#writeFiles(used);
    // A restarted agent whose tasks use no service: a previous run's rules go.
    if (this.#proxies.size === 0 && !this.#kernelSynced && this.#o.kernel) {
      this.#kernelSynced = true;
      void this.#o.kernel.remove();
    }
  }

  /** Why the attempt may not start yet, or null. */
  hold(a: Assignment): string | null {
    const uses = a.spec.uses ?? [];
    if (uses.length === 0) return null;
    const noProxy = uses.filter((u) => (this.#proxies.get(u.service)?.port ?? null) === null).map((u) => u.service);
    if (noProxy.length > 0) return `waiting for the local proxy of ${noProxy.join(", ")}`;
    return startHold(uses, (s) => this.#dir.endpoints(s)?.length ?? null);
  }

  /** The env vars and services file of a task of `a` whose work dir is `workDir` (call once hold() is null). */
  wiring(a: Assignment, workDir: string): ServiceWiring {
    const uses = a.spec.uses ?? [];
    if (uses.length === 0) return { env: {}, files: {} };
    const env: Record<string, string> = { TIFFIN_SERVICES_FILE: path.join(workDir, ServicesFileName) };
    // Named as the job writes the service (`db`, or `team-b/db` for another namespace's: TIFFIN_SERVICE_TEAM_B_DB).
    for (const u of uses) env[serviceVar(idToRef(u.service, a.spec.name))] = this.#address(u.service);
    return { env, files: { [ServicesFileName]: { content: this.#content(uses.map((u) => u.service)), mode: 0o644 } } };
  }

  /** Each proxy's port and counters (tests, bench). */
  stats(): Record<string, { port: number | null; targets: number } & ProxyStats> {
    const out: Record<string, { port: number | null; targets: number } & ProxyStats> = {};
    for (const [s, p] of this.#proxies) out[s] = { port: p.port, targets: p.proxy.targets().length, ...p.proxy.stats };
    return out;
  }

  /** The server moved: resume the watch there. */
  restart(): void {
    this.#dir.restart();
  }

  /** Stops the watch and the proxies; the kernel rules stay (tasks left running keep reaching their services). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#dir.close();
    await Promise.all([...this.#proxies.values()].map((p) => p.proxy.close()));
    await this.#o.kernel?.settled();
  }

  /** Removes the kernel rules (a graceful stop that leaves no task). */
  async removeRules(): Promise<void> {
    await this.#o.kernel?.remove();
  }

  /** Loads the kernel table with every listening proxy's port and endpoints; waits while some service's
   * endpoints are not known yet (a restarted agent keeps its previous rules until it knows them all). */
  #syncKernel(): void {
    const kernel = this.#o.kernel;
    if (!kernel || this.#closed) return;
    const services: KernelService[] = [];
    for (const [service, p] of this.#proxies) {
      if (p.port === null) continue;
      const eps = this.#dir.endpoints(service);
      if (eps === null) return;
      services.push({ service, port: p.port, endpoints: targetsOf(eps) });
    }
    this.#kernelSynced = true;
    void kernel.apply(services);
  }

  #address(service: string): string {
    return `127.0.0.1:${this.#proxies.get(service)?.port ?? 0}`;
  }

  #file(): string {
    return path.join(this.#o.dataDir, "service-proxies.json");
  }

  /** Opens a service's proxy on its saved port, else on a new one from the agent's range (saved). */
  #open(service: string): void {
    const proxy = new ServiceProxy({ service, port: 0, log: this.#o.log, ...(this.#o.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.#o.connectTimeoutMs } : {}) });
    const entry: { proxy: ServiceProxy; port: number | null } = { proxy, port: null };
    this.#proxies.set(service, entry);
    const owner = `service-proxy:${service}`;
    void (async () => {
      const saved = this.#saved[service];
      let port: number | null = null;
      if (saved !== undefined) {
        this.#o.ports.hold(owner, { [service]: saved });
        port = await proxy.listen(saved).catch((err: unknown) => {
          this.#o.ports.release(owner);
          this.#o.log.warn({ service, port: saved, err: String(err) }, "service proxy cannot take its saved port; tasks started before use the old address");
          return null;
        });
      }
      for (let tries = 0; port === null && tries < 5 && !this.#closed; tries++) {
        const got = await this.#o.ports.allocate(owner, [service]);
        const want = got?.[service];
        if (want === undefined) break;
        port = await proxy.listen(want).catch(() => {
          this.#o.ports.release(owner);
          return null;
        });
      }
      if (this.#closed) return void proxy.close();
      if (port === null) return void this.#o.log.error({ service }, "no port for the service proxy: tasks using it stay held");
      entry.port = port;
      if (this.#saved[service] !== port) {
        this.#saved[service] = port;
        writeSaved(this.#file(), this.#saved);
      }
      proxy.setTargets(targetsOf(this.#dir.endpoints(service) ?? []));
      this.#syncKernel();
      this.#o.log.info({ service, address: this.#address(service) }, "service proxy listening");
      this.#o.onReady();
    })();
  }

  #changed(services: ReadonlySet<string>): void {
    for (const s of services) this.#proxies.get(s)?.proxy.setTargets(targetsOf(this.#dir.endpoints(s) ?? []));
    this.#syncKernel();
    this.#writeFiles(services);
    this.#o.onReady();
  }

  #content(services: readonly string[]): string {
    const out: Record<string, { address: string; endpoints: { address: string; port: number; index: number; host: string; state: string; version: number; ports: Record<string, number> }[] | null }> = {};
    for (const s of services) {
      const eps = this.#dir.endpoints(s);
      out[s] = {
        address: this.#address(s),
        endpoints: eps === null ? null : eps.map((e) => ({ address: e.address, port: e.ports[0]?.port ?? 0, index: e.index, host: e.host, state: e.state, version: e.version, ports: Object.fromEntries(e.ports.map((p) => [p.name, p.port])) })),
      };
    }
    return `${JSON.stringify({ revision: this.#dir.revision, services: out }, null, 2)}\n`;
  }

  /** Rewrites the services file of every running task that uses one of `services`. */
  #writeFiles(services: ReadonlySet<string>): void {
    const root = attemptsRoot(this.#o.dataDir);
    const live = new Set<string>();
    for (const a of this.#desired) {
      const names = (a.spec.uses ?? []).map((u) => u.service);
      const file = path.join(root, a.attempt.id, "work", ServicesFileName);
      live.add(file);
      if (!names.some((n) => services.has(n)) || !fs.existsSync(path.dirname(file))) continue;
      const content = this.#content(names);
      if (this.#written.get(file) === content) continue;
      this.#written.set(file, content);
      try {
        fs.writeFileSync(`${file}.tmp`, content, { mode: 0o644 });
        fs.renameSync(`${file}.tmp`, file);
      } catch (err) {
        this.#o.log.warn({ file, err: String(err) }, "cannot update a task's services file");
      }
    }
    for (const f of this.#written.keys()) if (!live.has(f)) this.#written.delete(f);
  }
}

/** The proxy targets of a service's endpoints: its first port on each endpoint's address. */
export function targetsOf(endpoints: readonly Endpoint[]): { key: string; address: string; port: number }[] {
  return endpoints.flatMap((e) => (e.ports[0] === undefined ? [] : [{ key: `${e.service}/${e.index}@${e.attemptId}`, address: e.address, port: e.ports[0].port }]));
}

function readSaved(file: string): Record<string, number> {
  try {
    const v: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
    if (typeof v !== "object" || v === null) return {};
    return Object.fromEntries(Object.entries(v).filter((e): e is [string, number] => Number.isInteger(e[1])));
  } catch {
    return {};
  }
}

function writeSaved(file: string, saved: Record<string, number>): void {
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(saved), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}
