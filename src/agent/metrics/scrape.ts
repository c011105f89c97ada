// One scrape of a task's endpoint, bounded in time and memory: the whole exchange (connect, headers,
// body) must end within `timeoutMs` and the body may not exceed `maxBytes` (the request is destroyed
// the moment either is passed, so a slow or endless endpoint costs at most that). Every way it can go
// wrong is a value (a ScrapeErrorKind and a message), never a throw.
import http from "node:http";
import type { ScrapeErrorKind } from "../../model/index.ts";

/** A scrape's outcome. */
export type ScrapeResult = { ok: true; text: string; ms: number } | { ok: false; kind: ScrapeErrorKind; message: string; ms: number };

/** Limits of one scrape. */
export interface ScrapeLimits {
  timeoutMs: number;
  /** @default 4 MiB */
  maxBytes?: number;
}

/** GETs `url` (http only: tasks serve plain HTTP on loopback or the host's address). */
export function scrapeOnce(url: string, limits: ScrapeLimits): Promise<ScrapeResult> {
  const maxBytes = limits.maxBytes ?? 4 * 1024 * 1024;
  const started = performance.now();
  const ms = (): number => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: ScrapeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = http.get(url, { headers: { accept: "text/plain;version=0.0.4;q=1,*/*;q=0.1" }, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        finish({ ok: false, kind: "http-status", message: `${url} answered HTTP ${res.statusCode ?? "?"}`, ms: ms() });
        return;
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on("data", (c: Buffer) => {
        bytes += c.length;
        if (bytes > maxBytes) finish({ ok: false, kind: "too-large", message: `${url} sent more than ${maxBytes} bytes`, ms: ms() });
        else chunks.push(c);
      });
      res.on("end", () => finish({ ok: true, text: Buffer.concat(chunks).toString("utf8"), ms: ms() }));
      res.on("error", (err) => finish({ ok: false, kind: "unreachable", message: `${url}: ${err.message}`, ms: ms() }));
    });
    req.on("error", (err) => finish({ ok: false, kind: "unreachable", message: `${url}: ${err.message}`, ms: ms() }));
    const timer = setTimeout(() => finish({ ok: false, kind: "timeout", message: `${url} did not answer in full within ${limits.timeoutMs}ms`, ms: ms() }), limits.timeoutMs);
  });
}
