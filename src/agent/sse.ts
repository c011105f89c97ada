// Server-sent events: a pure incremental parser (per the WHATWG rules: CR, LF or CRLF line ends,
// multi-line data, comments, a field without a colon) and a reconnecting watcher over fetch.
// Written here rather than taken from a library because it is ~100 lines and the watcher needs
// control over back-off, headers that change on re-register, and what counts as server contact.

/** One dispatched event. `event` is "message" when the stream named none. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

/** Incremental SSE parser: feed text as it arrives, get the events completed by it. */
export class SseParser {
  #buf = "";
  #event = "";
  #data: string[] = [];
  #id: string | null = null;
  #started = false;

  /** Parses a chunk; returns the events whose terminating blank line it contained. */
  feed(chunk: string): SseEvent[] {
    if (!this.#started && chunk.length > 0) {
      this.#started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    this.#buf += chunk;
    const out: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.#buf.length; i++) {
      const c = this.#buf[i];
      if (c !== "\n" && c !== "\r") continue;
      // A CR at the end of the buffer may be the first half of a CRLF: wait for more text.
      if (c === "\r" && i === this.#buf.length - 1) break;
      const line = this.#buf.slice(start, i);
      if (c === "\r" && this.#buf[i + 1] === "\n") i++;
      start = i + 1;
      const ev = this.#line(line);
      if (ev) out.push(ev);
    }
    this.#buf = this.#buf.slice(start);
    return out;
  }

  #line(line: string): SseEvent | null {
    if (line === "") {
      const ev = this.#data.length > 0 ? { event: this.#event || "message", data: this.#data.join("\n"), id: this.#id } : null;
      this.#event = "";
      this.#data = [];
      return ev;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.#event = value;
    else if (field === "data") this.#data.push(value);
    else if (field === "id" && !value.includes("\0")) this.#id = value;
    return null;
  }
}

/** Doubles a back-off delay up to `max`; `prev` null starts at `initial`. */
export function nextBackoff(prev: number | null, initial: number, max: number): number {
  return prev === null ? initial : Math.min(max, prev * 2);
}

/** Options of `watchSse`. */
export interface WatchSseOptions {
  /** The stream's URL, or a function asked before each connection (the server may change). */
  url: string | (() => string);
  /** Called before each connection, so a new token is used after re-registering. */
  headers: () => Record<string, string>;
  onEvent: (ev: SseEvent) => void;
  /** Called when a connection is accepted (HTTP 200). */
  onOpen?: () => void;
  /** Called when a connection fails or ends; `status` is the HTTP status or null for network errors;
   * `url` the one that failed. */
  onError?: (info: { status: number | null; message: string; retryInMs: number; url: string }) => void;
  /** @default 250 */
  backoffInitialMs?: number;
  /** @default 5000 */
  backoffMaxMs?: number;
  /** Time allowed to receive the response headers. @default 10000 */
  connectTimeoutMs?: number;
}

/** A running watch. */
export interface SseWatch {
  /** Drops the current connection and reconnects at once (e.g. with a new token). */
  restart(): void;
  /** Stops watching for good. */
  close(): void;
}

/** Watches an SSE endpoint, reconnecting with capped exponential back-off until closed. */
export function watchSse(opts: WatchSseOptions): SseWatch {
  const initial = opts.backoffInitialMs ?? 250;
  const max = opts.backoffMaxMs ?? 5000;
  let closed = false;
  let current: AbortController | null = null;
  let wake: (() => void) | null = null;
  let delay: number | null = null;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(t);
        wake = null;
        resolve();
      };
    });

  const once = async (url: string): Promise<{ status: number | null; message: string; opened: boolean }> => {
    const ac = new AbortController();
    current = ac;
    const connectTimer = setTimeout(() => ac.abort(new Error("connect timeout")), opts.connectTimeoutMs ?? 10_000);
    try {
      const res = await fetch(url, { headers: { accept: "text/event-stream", ...opts.headers() }, signal: ac.signal });
      clearTimeout(connectTimer);
      if (res.status !== 200 || !res.body) {
        const text = await res.text().catch(() => "");
        return { status: res.status, message: text.slice(0, 300) || `HTTP ${res.status}`, opened: false };
      }
      opts.onOpen?.();
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of res.body) {
        for (const ev of parser.feed(decoder.decode(chunk, { stream: true }))) opts.onEvent(ev);
      }
      return { status: 200, message: "stream ended", opened: true };
    } catch (err) {
      return { status: null, message: err instanceof Error ? err.message : String(err), opened: false };
    } finally {
      clearTimeout(connectTimer);
      current = null;
    }
  };

  let restarted = false;
  const loop = async () => {
    while (!closed) {
      const url = typeof opts.url === "function" ? opts.url() : opts.url;
      const r = await once(url);
      if (closed) break;
      if (restarted) {
        // Dropped on purpose (new token, new server): reconnect at once, nothing failed.
        restarted = false;
        continue;
      }
      delay = r.opened ? null : nextBackoff(delay, initial, max);
      const wait = delay ?? initial;
      opts.onError?.({ status: r.status, message: r.message, retryInMs: wait, url });
      await sleep(wait);
    }
  };
  void loop();

  return {
    restart() {
      delay = null;
      if (current) restarted = true;
      current?.abort(new Error("restart"));
      wake?.();
    },
    close() {
      closed = true;
      current?.abort(new Error("closed"));
      wake?.();
    },
  };
}
