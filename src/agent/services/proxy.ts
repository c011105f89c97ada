// One service's local TCP proxy: a listener on 127.0.0.1 that tasks of this host reach at
// `TIFFIN_SERVICE_<NAME>`, relaying each new connection to one of the service's serving endpoints,
// round robin. A connect that fails (refused, or no answer within connectTimeoutMs) tries the next
// endpoint, so a client sees an error only when none answers. An endpoint the registry drops leaves
// the rotation at once, and its relayed connections are closed (a client of a dead host learns at
// once instead of after TCP's timeouts). Half-closes pass through (a client may send, shut its side
// and read the answer). Plain node:net with pipe(): no library, nothing to parse.
import net from "node:net";
import type { Logger } from "pino";

/** The buffer of each relayed socket (reading and writing): with the default 16 KiB every 64 KiB read
 * stops the socket's reading (a push over the mark) and restarts it on `drain`, two epoll changes a
 * chunk; 256 KiB holds a few reads. At most 4 x 256 KiB a connection while its reader stalls.
 * Measured no better nor worse on the shared 2-core VM (bench/RESULTS.md, "local proxy"). */
export const RelayHighWaterMark = 256 * 1024;

/** Where to relay to: one serving endpoint of the service. */
export interface ProxyTarget {
  /** Stable identity (`job/index@attempt`): a target with a new key is a new endpoint. */
  key: string;
  address: string;
  port: number;
}

/** Counters of one proxy (bench, tests, logs). */
export interface ProxyStats {
  /** Client connections relayed to an endpoint. */
  relayed: number;
  /** Connects to an endpoint that failed (each was retried on the next one). */
  connectFailures: number;
  /** Client connections closed unrelayed: no endpoint answered, or there was none. */
  refused: number;
  /** Relayed connections closed because their endpoint left the registry. */
  cut: number;
}

/** Options of a ServiceProxy. */
export interface ServiceProxyOptions {
  service: string;
  /** The port to listen on (0: any). */
  port: number;
  log: Logger;
  /** @default 1000 */
  connectTimeoutMs?: number;
}

/** A local TCP proxy of one service (see the file comment). */
export class ServiceProxy {
  readonly #o: ServiceProxyOptions;
  #server: net.Server | null = null;
  #targets: ProxyTarget[] = [];
  #next = Math.floor(Math.random() * 1024);
  readonly #live = new Map<string, Set<net.Socket>>();
  readonly stats: ProxyStats = { relayed: 0, connectFailures: 0, refused: 0, cut: 0 };

  constructor(o: ServiceProxyOptions) {
    this.#o = o;
  }

  /** Listens; resolves with the port, or rejects when it cannot be bound (EADDRINUSE). */
  listen(port = this.#o.port): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer({ pauseOnConnect: true, noDelay: true, allowHalfOpen: true, highWaterMark: RelayHighWaterMark }, (c) => this.#accept(c));
      server.once("error", reject);
      server.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
        server.off("error", reject);
        server.on("error", (err) => this.#o.log.warn({ err, service: this.#o.service }, "service proxy listener error"));
        this.#server = server;
        const addr = server.address();
        resolve(typeof addr === "object" && addr !== null ? addr.port : port);
      });
    });
  }

  /** The endpoints to relay new connections to; connections to endpoints no longer listed are closed. */
  setTargets(targets: readonly ProxyTarget[]): void {
    this.#targets = [...targets];
    const keep = new Set(targets.map((t) => t.key));
    for (const [key, socks] of this.#live) {
      if (keep.has(key)) continue;
      for (const s of socks) {
        this.stats.cut++;
        s.destroy();
      }
      this.#live.delete(key);
    }
  }

  /** Endpoints in the rotation now. */
  targets(): readonly ProxyTarget[] {
    return this.#targets;
  }

  /** Stops listening and closes every relayed connection. */
  close(): Promise<void> {
    for (const socks of this.#live.values()) for (const s of socks) s.destroy();
    this.#live.clear();
    const server = this.#server;
    this.#server = null;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  #accept(client: net.Socket): void {
    client.on("error", () => {});
    const tried = new Set<string>();
    const attempt = (): void => {
      if (client.destroyed) return;
      const target = this.#pick(tried);
      if (target === null) {
        this.stats.refused++;
        client.destroy();
        return;
      }
      tried.add(target.key);
      // The socket's stream options (Duplex's highWaterMark) are not in net's connect types.
      const options: net.NetConnectOpts & { highWaterMark: number } = { host: target.address, port: target.port, noDelay: true, allowHalfOpen: true, highWaterMark: RelayHighWaterMark };
      const up = net.connect(options);
      const timer = setTimeout(() => up.destroy(new Error("connect timeout")), this.#o.connectTimeoutMs ?? 1000);
      up.once("error", () => {
        clearTimeout(timer);
        up.destroy();
        this.stats.connectFailures++;
        attempt();
      });
      up.once("connect", () => {
        clearTimeout(timer);
        up.removeAllListeners("error");
        // Dropped from the registry while connecting: try another.
        if (!this.#targets.some((t) => t.key === target.key)) {
          up.destroy();
          return attempt();
        }
        this.stats.relayed++;
        this.#relay(client, up, target.key);
      });
    };
    attempt();
  }

  #relay(client: net.Socket, up: net.Socket, key: string): void {
    let socks = this.#live.get(key);
    if (!socks) this.#live.set(key, (socks = new Set()));
    socks.add(client);
    const done = (): void => {
      client.destroy();
      up.destroy();
      this.#live.get(key)?.delete(client);
    };
    up.on("error", done);
    client.on("error", done);
    up.on("close", done);
    client.on("close", done);
    client.pipe(up);
    up.pipe(client);
    client.resume();
  }

  /** The next endpoint round robin, skipping those tried for this connection; null when none is left. */
  #pick(tried: ReadonlySet<string>): ProxyTarget | null {
    const n = this.#targets.length;
    for (let i = 0; i < n; i++) {
      const t = this.#targets[this.#next++ % n];
      if (t !== undefined && !tried.has(t.key)) return t;
    }
    return null;
  }
}
