// GETs of pieces from peers over plain sockets, without node:http. A busy agent moves gigabytes in
// 4 MiB pieces, and node:http costs it a fresh 64 KiB buffer per socket read, a stream, an async
// iterator and promises per chunk, then a copy into one body: profiled in a fan-out (bench/fanout.ts),
// that and the garbage collections it causes were most of an agent's CPU. Here every socket reads into
// one shared buffer (`onread`), and the bytes are copied once, into the piece's own buffer sized from
// Content-Length. It speaks only what a PieceServer answers: HTTP/1.1, one request at a time per
// connection, kept alive; a body without Content-Length (an error page in chunked encoding) is not
// read: its status is returned and the connection closed.

import net from "node:net";
import type { BufferPool } from "../../pkg/index.ts";
import type { GetResult } from "./http-get.ts";
import type { TokenBucket } from "./rate.ts";

/** Largest response head accepted. */
const MaxHead = 16 * 1024;
/** Idle connections kept per peer, and for how long (under node:http's 5 s keep-alive timeout). */
const MaxIdlePerPeer = 4;
const IdleKeepMs = 4000;

/** What one GET needs. */
export interface PieceGetOptions {
  headers: Record<string, string>;
  /** Socket idle time before giving up. */
  idleMs: number;
  /** Largest body accepted. */
  maxBytes: number;
  bucket: TokenBucket | null;
  /** Gives the request up (its connection is closed: HTTP/1.1 cannot stop a body otherwise). */
  signal?: AbortSignal;
}

/** The request a connection is serving, and where its response stands. */
interface Exchange {
  url: string;
  o: PieceGetOptions;
  head: Buffer[];
  headBytes: number;
  status: number;
  encoding: string | undefined;
  body: Buffer | null;
  got: number;
  keepAlive: boolean;
  /** Any response byte seen (a reused connection that closes before one is retried once). */
  answered: boolean;
  reused: boolean;
  done: (r: GetResult | { error: string } | "retry") => void;
}

interface Conn {
  socket: net.Socket;
  key: string;
  ex: Exchange | null;
  /** When bytes last arrived, or the connection last changed state (for the idle sweep). */
  lastAt: number;
}

/** How often connections are checked for idleness: one timer for all of them, rather than a socket
 * timeout re-armed on every read (which showed in the fan-out profiles). */
export const SweepMs = 100;

/** Keep-alive GETs to peers; see the top of this file. */
export class PieceClient {
  readonly #idle = new Map<string, Conn[]>();
  /** Every socket reads into this buffer; its bytes are copied out before the callback returns. */
  readonly #readBuf = Buffer.allocUnsafe(256 * 1024);
  readonly #pool: BufferPool | null;
  readonly #conns = new Set<Conn>();
  #sweeper: NodeJS.Timeout | null = null;
  #closed = false;

  /** `pool`: bodies are taken from it (the caller gives each back when done with it). */
  constructor(o: { pool?: BufferPool | null } = {}) {
    this.#pool = o.pool ?? null;
  }

  /** GETs `url` (http://host:port/path); failures are values. */
  async get(url: string, o: PieceGetOptions): Promise<GetResult | { error: string }> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return { error: `${url}: not a URL` };
    }
    if (u.protocol !== "http:") return { error: `${url}: only http is supported` };
    if (o.signal?.aborted) return { error: `${url}: aborted` };
    const reused = this.#takeIdle(u.host);
    const first = await this.#exchange(reused ?? this.#connect(u), u, url, o);
    if (first !== "retry") return first;
    // A kept-alive connection the peer had just closed: once more on a fresh one.
    const second = await this.#exchange(this.#connect(u), u, url, o);
    return second === "retry" ? { error: `${url}: connection closed before an answer` } : second;
  }

  /** Closes every idle connection; later GETs open new ones. */
  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) for (const c of list) c.socket.destroy();
    this.#idle.clear();
  }

  #connect(u: URL): Conn {
    const c: Conn = { socket: null as unknown as net.Socket, key: u.host, ex: null, lastAt: Date.now() };
    c.socket = net.connect({
      host: u.hostname.replace(/^\[|\]$/g, ""),
      port: Number(u.port || 80),
      noDelay: true,
      onread: { buffer: this.#readBuf, callback: (n, buf) => {
        this.#onData(c, buf, n);
        return true;
      } },
    });
    c.socket.on("error", (err) => this.#end(c, { error: `${c.ex?.url ?? c.key}: ${err.message}` }));
    c.socket.on("close", () => {
      this.#conns.delete(c);
      this.#end(c, null);
    });
    this.#conns.add(c);
    this.#sweeper ??= setInterval(() => this.#sweep(), SweepMs).unref();
    return c;
  }

  /** Ends exchanges that got no data for their `idleMs`, and idle connections kept too long. */
  #sweep(): void {
    const now = Date.now();
    for (const c of this.#conns) {
      if (c.ex && now - c.lastAt > c.ex.o.idleMs) c.socket.destroy(new Error(`no data for ${c.ex.o.idleMs} ms`));
      else if (!c.ex && now - c.lastAt > IdleKeepMs) c.socket.destroy();
    }
    if (this.#conns.size === 0 && this.#sweeper) {
      clearInterval(this.#sweeper);
      this.#sweeper = null;
    }
  }

  #takeIdle(key: string): Conn | null {
    const list = this.#idle.get(key);
    while (list && list.length > 0) {
      const c = list.pop()!;
      if (!c.socket.destroyed) return c;
    }
    return null;
  }

  #exchange(c: Conn, u: URL, url: string, o: PieceGetOptions): Promise<GetResult | { error: string } | "retry"> {
    const reused = c.socket.readyState === "open";
    return new Promise((resolve) => {
      const abort = (): void => void c.socket.destroy(new Error("aborted"));
      o.signal?.addEventListener("abort", abort, { once: true });
      c.ex = {
        url, o, head: [], headBytes: 0, status: 0, encoding: undefined, body: null, got: 0, keepAlive: true, answered: false, reused,
        done: (r) => {
          o.signal?.removeEventListener("abort", abort);
          resolve(r);
        },
      };
      c.lastAt = Date.now();
      let head = `GET ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${u.host}\r\nconnection: keep-alive\r\n`;
      for (const [k, v] of Object.entries(o.headers)) head += `${k}: ${v}\r\n`;
      c.socket.write(`${head}\r\n`);
    });
  }

  /** Bytes arrived on `c` (in the shared buffer: copied out here). */
  #onData(c: Conn, buf: Uint8Array, n: number): void {
    const ex = c.ex;
    if (!ex) {
      c.socket.destroy(); // bytes nobody asked for
      return;
    }
    ex.answered = true;
    c.lastAt = Date.now();
    let data = Buffer.from(buf.buffer, buf.byteOffset, n);
    if (ex.body === null && ex.status === 0) {
      const rest = this.#readHead(c, ex, data);
      if (rest === null) return;
      data = rest;
    }
    if (ex.body === null) return;
    if (ex.got + data.length > ex.body.length) return this.#fail(c, `${ex.url}: more bytes than its Content-Length ${ex.body.length}`);
    ex.body.set(data, ex.got);
    ex.got += data.length;
    const whole = ex.got === ex.body.length;
    if (ex.o.bucket && data.length > 0) {
      // The bucket paces the reads: unread bytes stay in the kernel and TCP slows the sender. The
      // answer waits for its last bytes too, or a body that came in one read would not be paced at all.
      c.socket.pause();
      c.lastAt = Number.POSITIVE_INFINITY; // our own wait is not the peer's silence
      if (whole) c.ex = null; // nothing left to read: a close while waiting does not fail it
      void ex.o.bucket.take(data.length).then(() => {
        c.lastAt = Date.now();
        if (whole) {
          c.ex = ex;
          this.#complete(c, ex);
        }
        c.socket.resume();
      });
      return;
    }
    if (whole) this.#complete(c, ex);
  }

  /** Collects the response head; returns the body bytes after it, or null (more head needed, or done). */
  #readHead(c: Conn, ex: Exchange, data: Buffer): Buffer | null {
    ex.head.push(Buffer.from(data)); // copied: `data` is the shared read buffer
    ex.headBytes += data.length;
    const all = ex.head.length === 1 ? ex.head[0]! : Buffer.concat(ex.head);
    const end = all.indexOf("\r\n\r\n");
    // The head's own length once it is whole: a whole head over the limit can come in one read.
    if ((end < 0 ? ex.headBytes : end + 4) > MaxHead) {
      this.#fail(c, `${ex.url}: response head over ${MaxHead} bytes`);
      return null;
    }
    if (end < 0) return null;
    const lines = all.subarray(0, end).toString("latin1").split("\r\n");
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
    if (!status) {
      this.#fail(c, `${ex.url}: not an HTTP/1.1 response`);
      return null;
    }
    ex.status = Number(status[1]);
    let length: number | null = null;
    for (const line of lines.slice(1)) {
      const i = line.indexOf(":");
      const name = line.slice(0, i).trim().toLowerCase();
      const value = line.slice(i + 1).trim();
      if (name === "content-length") length = /^\d+$/.test(value) ? Number(value) : Number.NaN;
      else if (name === "content-encoding") ex.encoding = value;
      else if (name === "connection" && value.toLowerCase() === "close") ex.keepAlive = false;
    }
    const rest = all.subarray(end + 4);
    if (length === null || Number.isNaN(length)) {
      if (ex.status === 200) this.#fail(c, `${ex.url}: an answer without Content-Length`);
      else this.#finish(c, { status: ex.status, body: Buffer.alloc(0), encoding: ex.encoding }, false);
      return null;
    }
    if (length > ex.o.maxBytes) {
      this.#fail(c, `${ex.url}: body over ${ex.o.maxBytes} bytes`);
      return null;
    }
    ex.body = this.#pool ? this.#pool.take(length) : Buffer.allocUnsafe(length);
    if (length === 0 && rest.length === 0) {
      this.#complete(c, ex);
      return null;
    }
    return rest;
  }

  #complete(c: Conn, ex: Exchange): void {
    this.#finish(c, { status: ex.status, body: ex.body ?? Buffer.alloc(0), encoding: ex.encoding }, ex.keepAlive);
  }

  /** Ends the exchange; the connection goes back to the idle pool or is closed. */
  #finish(c: Conn, r: GetResult, keep: boolean): void {
    const ex = c.ex;
    c.ex = null;
    if (keep && !this.#closed && !c.socket.destroyed) {
      c.lastAt = Date.now();
      let list = this.#idle.get(c.key);
      if (!list) this.#idle.set(c.key, (list = []));
      if (list.length < MaxIdlePerPeer) list.push(c);
      else c.socket.destroy();
    } else c.socket.destroy();
    ex?.done(r);
  }

  #fail(c: Conn, error: string): void {
    const ex = c.ex;
    c.ex = null;
    c.socket.destroy();
    ex?.done({ error });
  }

  /** The connection closed or failed: its exchange (if any) ends, and it leaves the idle pool. */
  #end(c: Conn, err: { error: string } | null): void {
    const list = this.#idle.get(c.key);
    if (list) {
      const i = list.indexOf(c);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#idle.delete(c.key);
    }
    const ex = c.ex;
    if (!ex) return;
    c.ex = null;
    if (!ex.answered && ex.reused) ex.done("retry");
    else ex.done(err ?? { error: `${ex.url}: connection closed ${ex.answered ? "mid-answer" : "before an answer"}` });
  }
}
