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
  /** The start of a line whose end has not come yet, as it arrived. */
  #parts: string[] = [];
  #heldCr = false;
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
    // A CR at the end of a chunk may be the first half of a CRLF: it waits for the next chunk.
    if (this.#heldCr) chunk = `\r${chunk}`;
    this.#heldCr = chunk.endsWith("\r");
    if (this.#heldCr) chunk = chunk.slice(0, -1);
    const out: SseEvent[] = [];
    // Only the new chunk is searched, and the pending start of a line is kept in parts (joined once
    // its end comes), so a data line of megabytes in small chunks costs its length once, not once per
    // chunk (a concatenated buffer is copied whole by every search).
    let start = 0;
    // The next CR at or after `start` (-1: none left in this chunk), searched again only once passed.
    let cr = -2;
    for (;;) {
      const lf = chunk.indexOf("\n", start);
      if (cr !== -1 && cr < start) cr = chunk.indexOf("\r", start);
      const i = cr === -1 ? lf : lf === -1 ? cr : Math.min(lf, cr);
      if (i === -1) break;
      let line = chunk.slice(start, i);
      if (this.#parts.length > 0) {
        line = this.#parts.join("") + line;
        this.#parts = [];
      }
      start = i === cr && chunk[i + 1] === "\n" ? i + 2 : i + 1;
      const ev = this.#line(line);
      if (ev) out.push(ev);
    }
    if (start < chunk.length) this.#parts.push(chunk.slice(start));
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
