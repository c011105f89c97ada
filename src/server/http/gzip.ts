// Answers that scrapers fetch again and again (the server's `/metrics`, `GET /v1/prometheus/sd`)
// gzip-compressed when the client accepts it, as Prometheus does for every scrape: the text of
// thousands of task series shrinks about tenfold. Small bodies go as they are (not worth the CPU).
import type { IncomingMessage, ServerResponse } from "node:http";
import { promisify } from "node:util";
import zlib from "node:zlib";

const gzip = promisify(zlib.gzip);

/** Bodies smaller than this are sent uncompressed. */
export const GzipMinBytes = 1024;

/** True when `accept-encoding` allows gzip (a `q=0` refuses it). */
export function acceptsGzip(header: string | undefined): boolean {
  for (const part of (header ?? "").split(",")) {
    const [coding = "", ...params] = part.trim().toLowerCase().split(";");
    if (coding.trim() !== "gzip" && coding.trim() !== "*") continue;
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    return q === undefined || Number(q) > 0;
  }
  return false;
}

/** Sends `text` as `contentType`, gzipped when `req` accepts it and it is worth it. */
export async function sendMaybeGzipped(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, text: string): Promise<void> {
  const raw = Buffer.from(text);
  const compress = raw.length >= GzipMinBytes && acceptsGzip(req.headers["accept-encoding"]);
  const body = compress ? await gzip(raw, { level: 6 }) : raw;
  res.writeHead(status, { "content-type": contentType, "content-length": body.length, vary: "accept-encoding", ...(compress ? { "content-encoding": "gzip" } : {}) });
  res.end(body);
}

/** Sends `body` as JSON, gzipped when `req` accepts it and it is worth it. */
export function sendJsonMaybeGzipped(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): Promise<void> {
  return sendMaybeGzipped(req, res, status, "application/json; charset=utf-8", JSON.stringify(body));
}
