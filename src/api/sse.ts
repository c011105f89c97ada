// A small text/event-stream reader. EventSource is browser-shaped (no custom headers, reconnects by
// itself), and the API needs Bearer tokens and explicit end-of-stream handling, so we parse the few
// lines of the format ourselves.

/** One server-sent event: its `event:` name ("message" when absent) and joined `data:` lines. */
export interface SseMessage {
  event: string;
  data: string;
}

/** Splits a stream of text chunks into server-sent events. Comments (`:` lines) are skipped. */
export async function* parseSse(chunks: AsyncIterable<string>): AsyncGenerator<SseMessage> {
  let buffer = "";
  let event = "";
  let data: string[] = [];
  for await (const chunk of chunks) {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, "");
      buffer = buffer.slice(nl + 1);
      if (line === "") {
        if (data.length > 0) yield { event: event || "message", data: data.join("\n") };
        event = "";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
  }
}
