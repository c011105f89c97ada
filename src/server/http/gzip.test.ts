// gzip answers: a real server's `/metrics` and `GET /v1/prometheus/sd` come gzip-compressed when the
// client accepts it (as Prometheus asks on every scrape) and plain otherwise, with the same text.
import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import zlib from "node:zlib";
import { startTestServer } from "../testing/harness.ts";
import { acceptsGzip } from "./gzip.ts";

void test("acceptsGzip: named cases", () => {
  const cases: [string | undefined, boolean][] = [
    ["gzip", true], ["gzip, deflate, br", true], ["deflate;q=1, gzip;q=0.5", true], ["gzip;q=0", false], ["*", true], ["identity", false], [undefined, false], ["br", false],
  ];
  for (const [header, want] of cases) assert.equal(acceptsGzip(header), want, String(header));
});

/** GET with raw bytes back (fetch would decompress behind our back). */
function get(url: string, headers: Record<string, string>): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on("error", reject);
  });
}

void test("a real server answers /metrics gzipped when asked, plain otherwise, the same text", async (t) => {
  const s = await startTestServer();
  t.after(() => s.cleanup());
  const auth = { authorization: `Bearer ${s.server.adminToken}` };
  const zipped = await get(`${s.server.url}/metrics`, { ...auth, "accept-encoding": "gzip" });
  assert.equal(zipped.headers["content-encoding"], "gzip");
  assert.equal(zipped.headers["vary"], "accept-encoding");
  const plain = await get(`${s.server.url}/metrics`, auth);
  assert.equal(plain.headers["content-encoding"], undefined);
  const unzipped = zlib.gunzipSync(zipped.body).toString();
  // The same families (values such as uptime move between the two requests).
  const names = (text: string) => text.split("\n").filter((l) => l.startsWith("# TYPE")).join("\n");
  assert.equal(names(unzipped), names(plain.body.toString()));
  assert.ok(zipped.body.length * 3 < plain.body.length, `compressed: ${zipped.body.length} vs ${plain.body.length} bytes`);
  const sd = await get(`${s.server.url}/v1/prometheus/sd`, { ...auth, "accept-encoding": "gzip" });
  assert.deepEqual(JSON.parse(sd.body.toString()), [], "small answers go uncompressed");
});
