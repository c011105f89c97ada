// Port allocation for tasks' named ports. A port is handed out only when no other local attempt holds
// it and a brief bind on 127.0.0.1 and on 0.0.0.0 succeeds (something outside Tiffin may use it).

import net from "node:net";

/** Tries to bind `host:port` for a moment; true when it was free. */
export function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** True when the port is free on loopback and on every interface. */
export async function isPortFree(port: number): Promise<boolean> {
  return (await canBind(port, "127.0.0.1")) && (await canBind(port, "0.0.0.0"));
}

/** Hands out ports from a range, remembering which ones local attempts hold. */
export class PortAllocator {
  readonly #lo: number;
  readonly #hi: number;
  readonly #held = new Map<number, string>();
  #cursor: number;
  #probe: (port: number) => Promise<boolean>;

  /** `range` is inclusive; `probe` checks a candidate (a test may replace it). */
  constructor(range: [number, number] = [20000, 29999], probe: (port: number) => Promise<boolean> = isPortFree) {
    [this.#lo, this.#hi] = range;
    if (!(this.#lo > 0 && this.#hi >= this.#lo && this.#hi < 65536)) throw new Error(`bad port range ${range.join("-")}`);
    // A random start keeps agents sharing a machine (tiffin dev) from racing for the same ports.
    this.#cursor = this.#lo + Math.floor(Math.random() * (this.#hi - this.#lo + 1));
    this.#probe = probe;
  }

  /** Marks ports as held by `owner` (an attempt found running at start-up). */
  hold(owner: string, ports: Record<string, number>): void {
    for (const p of Object.values(ports)) this.#held.set(p, owner);
  }

  /** Releases every port `owner` holds. */
  release(owner: string): void {
    for (const [p, o] of this.#held) if (o === owner) this.#held.delete(p);
  }

  /** Ports currently held, by port. */
  held(): ReadonlyMap<number, string> {
    return this.#held;
  }

  /** Allocates one port per name for `owner`, or returns null when the range has too few free ports. */
  async allocate(owner: string, names: string[]): Promise<Record<string, number> | null> {
    const out: Record<string, number> = {};
    const size = this.#hi - this.#lo + 1;
    let tried = 0;
    for (const name of names) {
      let got: number | null = null;
      while (got === null && tried < size) {
        const p = this.#cursor;
        this.#cursor = p >= this.#hi ? this.#lo : p + 1;
        tried++;
        if (this.#held.has(p)) continue;
        // Reserve before probing so a concurrent allocation cannot pick the same port.
        this.#held.set(p, owner);
        if (await this.#probe(p)) got = p;
        else this.#held.delete(p);
      }
      if (got === null) {
        this.release(owner);
        return null;
      }
      out[name] = got;
    }
    return out;
  }
}
