// One scrape of a task's endpoint, bounded in time and memory: the whole exchange (connect, headers,
// body) must end within `timeoutMs` and the body may not exceed `maxBytes` (the request is destroyed
// the moment either is passed, so a slow or endless endpoint costs at most that). Every way it can go
// wrong is a value (a ScrapeErrorKind and a message), never a throw.
//
// As Prometheus does, it asks for OpenMetrics text first and Prometheus text next (the answer's
// content type says which came, so the parser can hold OpenMetrics to its `# EOF`), and accepts gzip:
// `maxBytes` then bounds the bytes after decompression too, so a small compressed bomb is cut as early.
import http from "node:http";
import zlib from "node:zlib";
import type { ScrapeErrorKind } from "../../model/index.ts";

/** What the agent asks for, in Prometheus's order of preference. */
export const ScrapeAccept = "application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/** A scrape's outcome; `openMetrics` when the endpoint answered OpenMetrics text. */
export type ScrapeResult = { ok: true; text: string; openMetrics: boolean; ms: number } | { ok: false; kind: ScrapeErrorKind; message: string; ms: number };

/** Limits of one scrape. */
export interface ScrapeLimits {
  timeoutMs: number;
  /** Of the body as received and after decompression. @default 4 MiB */
  maxBytes?: number;
}

/** True for an OpenMetrics content type (`application/openmetrics-text; version=1.0.0; charset=utf-8`). */
export function isOpenMetrics(contentType: string | undefined): boolean {
  return /^\s*application\/openmetrics-text\b/i.test(contentType ?? "");
}

/** Connections kept to tasks' endpoints between scrapes, as Prometheus keeps them: one idle per
 * endpoint (a target is never scraped twice at once; several targets behind one address get a
 * connection each while they run), closed after a minute unused. A new TCP
 * connection per scrape was the largest cost of the agent's scraping (connect, socket set-up and
 * teardown: about a third of its CPU at 1,000 tasks, bench/RESULTS.md "Task metrics: agent CPU"). */
export const scrapeAgent = new http.Agent({ keepAlive: true, maxSockets: 16, maxFreeSockets: 1, timeout: 60_000, scheduling: "lifo" });

/** GETs `url` (http only: tasks serve plain HTTP on loopback or the host's address). A connection
 * kept from the previous scrape that the endpoint closed meanwhile (servers close idle ones: Node's
 * after 5 s) fails at once; the scrape is then tried again once on a new connection, within its time. */
export async function scrapeOnce(url: string, limits: ScrapeLimits): Promise<ScrapeResult> {
  const started = performance.now();
  const first = await scrapeOn(url, limits, started);
  if (first.ok || !first.reused) return first.result;
  return (await scrapeOn(url, limits, started)).result;
}

function scrapeOn(url: string, limits: ScrapeLimits, started: number): Promise<{ ok: boolean; reused: boolean; result: ScrapeResult }> {
  const maxBytes = limits.maxBytes ?? 4 * 1024 * 1024;
  const ms = (): number => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let done = false;
    let answered = false;
    let gunzip: zlib.Gunzip | null = null;
    const finish = (r: ScrapeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // A whole answer leaves its connection to the next scrape; anything else closes it.
      if (!r.ok) req.destroy();
      gunzip?.destroy();
      // Only a kept connection that failed before any answer is worth a second try.
      resolve({ ok: r.ok, reused: !r.ok && r.kind === "unreachable" && !answered && req.reusedSocket, result: r });
    };
    const left = Math.max(1, limits.timeoutMs - (performance.now() - started));
    const req = http.get(url, { headers: { accept: ScrapeAccept, "accept-encoding": "gzip" }, agent: scrapeAgent }, (res) => {
      answered = true;
      if (res.statusCode !== 200) {
        finish({ ok: false, kind: "http-status", message: `${url} answered HTTP ${res.statusCode ?? "?"}`, ms: ms() });
        return;
      }
      const openMetrics = isOpenMetrics(res.headers["content-type"]);
      const encoding = (res.headers["content-encoding"] ?? "identity").trim().toLowerCase();
      if (encoding !== "identity" && encoding !== "gzip") {
        finish({ ok: false, kind: "malformed", message: `${url} answered in content-encoding "${encoding}" (gzip or none expected)`, ms: ms() });
        return;
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      const tooLarge = (): void => finish({ ok: false, kind: "too-large", message: `${url} sent more than ${maxBytes} bytes${gunzip ? " (after gzip decompression)" : ""}`, ms: ms() });
      let wire = 0;
      res.on("data", (c: Buffer) => {
        wire += c.length;
        if (wire > maxBytes) tooLarge();
      });
      let body: NodeJS.ReadableStream = res;
      if (encoding === "gzip") {
        gunzip = zlib.createGunzip({ chunkSize: 64 * 1024 });
        gunzip.on("error", (err) => finish({ ok: false, kind: "malformed", message: `${url}: bad gzip body: ${err.message}`, ms: ms() }));
        body = res.pipe(gunzip);
      } else {
        body = res;
      }
      body.on("data", (c: Buffer) => {
        bytes += c.length;
        if (bytes > maxBytes) tooLarge();
        else chunks.push(c);
      });
      body.on("end", () => finish({ ok: true, text: Buffer.concat(chunks).toString("utf8"), openMetrics, ms: ms() }));
      res.on("error", (err) => finish({ ok: false, kind: "unreachable", message: `${url}: ${err.message}`, ms: ms() }));
    });
    req.on("error", (err) => finish({ ok: false, kind: "unreachable", message: `${url}: ${err.message}`, ms: ms() }));
    const timer = setTimeout(() => finish({ ok: false, kind: "timeout", message: `${url} did not answer in full within ${limits.timeoutMs}ms`, ms: ms() }), left);
  });
}
