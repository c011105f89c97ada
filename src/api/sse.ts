// Server-sent events (text/event-stream), parsed the WHATWG way: CR, LF or CRLF line ends, multi-line
// data, comments, a field without a colon, a persisting `id`. One parser for every reader: the API
// client's streams (watch, assignments), the agent's reconnecting watcher (agent/sse.ts) and a web page.
// We read with `fetch` rather than `EventSource`, which cannot send a Bearer token and reconnects on
// its own. Browser-safe: nothing here imports `node:`.

/** One dispatched event. `event` is "message" when the stream named none; `id` the last id seen. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

/** One server-sent event without its id (what `parseSse` yields). */
export type SseMessage = SseEvent;

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

/** Splits a stream of text chunks into server-sent events. Comments (`:` lines) are skipped. */
export async function* parseSse(chunks: AsyncIterable<string>): AsyncGenerator<SseEvent> {
  const parser = new SseParser();
  for await (const chunk of chunks) yield* parser.feed(chunk);
}
