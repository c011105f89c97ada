// One scrape against real HTTP endpoints: content negotiation (OpenMetrics asked for first, the
// answer's type read), gzip bodies decompressed within the byte limit (a small compressed bomb is cut
// at the limit of its decompressed bytes), an unknown encoding refused.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import zlib from "node:zlib";
import { Counter, Registry } from "prom-client";
import type { OpenMetricsContentType } from "prom-client";
import { isParseError, parsePromText } from "./prom-text.ts";
import { isOpenMetrics, scrapeOnce } from "./scrape.ts";

void test("scrapeOnce: OpenMetrics when offered, gzip within the limit, bombs and unknown encodings refused", async (t) => {
  const om = new Registry<OpenMetricsContentType>();
  om.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  new Counter({ name: "app_errors", help: "errors", registers: [om] }).inc(7);
  const seen: { accept: string; encoding: string }[] = [];
  const bomb = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024, "a")); // ~8 KB compressed, 8 MiB inflated
  const server = http.createServer((req, res) => {
    seen.push({ accept: req.headers.accept ?? "", encoding: req.headers["accept-encoding"] ?? "" });
    void (async () => {
      switch (req.url) {
        case "/negotiated": {
          // As prom-client users do: OpenMetrics when the scraper accepts it, gzip when it may.
          const text = await om.metrics();
          const body = /gzip/.test(req.headers["accept-encoding"] ?? "") ? zlib.gzipSync(text) : Buffer.from(text);
          res.writeHead(200, { "content-type": om.contentType, ...(/gzip/.test(req.headers["accept-encoding"] ?? "") ? { "content-encoding": "gzip" } : {}) });
          res.end(body);
          return;
        }
        case "/bomb":
          res.writeHead(200, { "content-type": "text/plain", "content-encoding": "gzip" });
          res.end(bomb);
          return;
        case "/brotli":
          res.writeHead(200, { "content-type": "text/plain", "content-encoding": "br" });
          res.end(zlib.brotliCompressSync("up 1\n"));
          return;
        case "/bad-gzip":
          res.writeHead(200, { "content-type": "text/plain", "content-encoding": "gzip" });
          res.end("not gzip at all");
          return;
        default:
          res.end("up 1\n");
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const r = await scrapeOnce(`${base}/negotiated`, { timeoutMs: 2000 });
  assert.ok(r.ok, r.ok ? "" : r.message);
  assert.equal(r.openMetrics, true);
  const expo = parsePromText(r.text, { openMetrics: r.openMetrics });
  assert.ok(!isParseError(expo), isParseError(expo) ? expo.message : "");
  assert.equal(expo.samples.find((s) => s.name === "app_errors_total")?.value, 7);
  assert.match(seen[0]?.accept ?? "", /^application\/openmetrics-text;version=1\.0\.0;q=0\.75,text\/plain;version=0\.0\.4;q=0\.5/);
  assert.equal(seen[0]?.encoding, "gzip");

  const plain = await scrapeOnce(`${base}/plain`, { timeoutMs: 2000 });
  assert.ok(plain.ok && !plain.openMetrics && plain.text === "up 1\n");

  const started = performance.now();
  const b = await scrapeOnce(`${base}/bomb`, { timeoutMs: 5000, maxBytes: 256 * 1024 });
  assert.ok(!b.ok && b.kind === "too-large" && /after gzip decompression/.test(b.message), JSON.stringify(b));
  assert.ok(performance.now() - started < 2000, "cut at the limit, not inflated whole");
  const br = await scrapeOnce(`${base}/brotli`, { timeoutMs: 2000 });
  assert.ok(!br.ok && br.kind === "malformed" && /content-encoding "br"/.test(br.message), JSON.stringify(br));
  const bad = await scrapeOnce(`${base}/bad-gzip`, { timeoutMs: 2000 });
  assert.ok(!bad.ok && bad.kind === "malformed" && /bad gzip/.test(bad.message), JSON.stringify(bad));
});

void test("isOpenMetrics: content types", () => {
  const cases: [string | undefined, boolean][] = [
    ["application/openmetrics-text; version=1.0.0; charset=utf-8", true],
    ["Application/OpenMetrics-Text", true],
    ["text/plain; version=0.0.4", false],
    [undefined, false],
    ["application/openmetrics-textual", false],
  ];
  for (const [type, want] of cases) assert.equal(isOpenMetrics(type), want, String(type));
});

void test("scrapeOnce: one kept connection per endpoint; a kept connection the endpoint closed or dropped is no scrape error", async (t) => {
  const conns = { keeping: 0, closing: 0, dropping: 0 };
  const serve = (name: keyof typeof conns, handle: http.RequestListener): Promise<{ url: string; server: http.Server }> => {
    const server = http.createServer(handle);
    server.on("connection", () => conns[name]++);
    return new Promise((r) => server.listen(0, "127.0.0.1", () => r({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, server })));
  };
  const keeping = await serve("keeping", (_q, r) => r.end("up 1\n"));
  keeping.server.keepAliveTimeout = 0; // as Go's exporters: idle connections stay
  // Node's default closes idle connections after 5 s; 30 ms here, so each scrape finds its connection closed.
  const closing = await serve("closing", (_q, r) => r.end("up 1\n"));
  closing.server.keepAliveTimeout = 30;
  // Drops every connection on its second request, unanswered (a restart, a proxy's idle cut).
  const served = new WeakSet<object>();
  const dropping = await serve("dropping", (q, r) => {
    if (served.has(q.socket)) return void q.socket.destroy();
    served.add(q.socket);
    r.end("up 1\n");
  });
  t.after(() => {
    for (const s of [keeping, closing, dropping]) {
      s.server.closeAllConnections();
      s.server.close();
    }
  });
  const results: string[] = [];
  for (let i = 0; i < 4; i++) {
    for (const s of [keeping, closing, dropping]) {
      const r = await scrapeOnce(s.url, { timeoutMs: 1000 });
      results.push(r.ok ? "ok" : `${r.kind}: ${r.message}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(results, Array(12).fill("ok"), "never a scrape error");
  assert.deepEqual(conns, { keeping: 1, closing: 4, dropping: 4 }, "kept when the endpoint keeps it; a new one when it did not");
});
