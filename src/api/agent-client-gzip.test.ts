// Metrics reports gzip-compressed, but only to a server that said it accepts gzip request bodies
// (its answers carry `Accept-Encoding: gzip`, RFC 7694): the first report to a server goes plain,
// later ones compressed; an older server never sees gzip; one that refuses it (400) gets plain again.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { IncomingMessage } from "node:http";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import type { MetricsReport } from "../model/task-metrics.ts";
import { createAgentClient } from "./agent-client.ts";

interface Seen {
  encoding: string | null;
  body: unknown;
}

/** A server that records each POST's content-encoding and decoded body and answers as `answer` says. */
async function recording(answer: (seen: Seen[]) => { status: number; acceptsGzip: boolean }): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const s = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const encoding = req.headers["content-encoding"] ?? null;
      seen.push({ encoding, body: JSON.parse((encoding === "gzip" ? gunzipSync(raw) : raw).toString("utf8")) as unknown });
      const a = answer(seen);
      res.writeHead(a.status, { "content-type": "application/json", ...(a.acceptsGzip ? { "accept-encoding": "gzip" } : {}) });
      res.end(a.status === 200 ? JSON.stringify({ ok: true }) : JSON.stringify({ error: { code: "TIFFIN_BAD_REQUEST", message: "request body is not valid JSON" } }));
    });
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const a = s.address();
  const port = typeof a === "object" && a ? a.port : 0;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((r) => { s.closeAllConnections(); s.close(() => r()); }) };
}

const report: MetricsReport = {
  hostId: "h1",
  tasks: Array.from({ length: 50 }, (_, i) => ({ attemptId: `a${i}`, at: 1, up: true, scrapes: i, scrapeErrors: 0, lastError: null, series: 100, scrapeMs: 2, clients: 3, errorsPerSec: 0.5, latencySeconds: 0.12 })),
};

void test("metrics reports: plain first, gzip once the server accepts it; never to a server that does not say so", async (t) => {
  const modern = await recording(() => ({ status: 200, acceptsGzip: true }));
  const older = await recording(() => ({ status: 200, acceptsGzip: false }));
  t.after(() => Promise.all([modern.close(), older.close()]));
  const c = createAgentClient(modern.url);
  for (let i = 0; i < 3; i++) assert.equal((await c.reportMetrics!("tok", report)).ok, true);
  assert.deepEqual(modern.seen.map((s) => s.encoding), [null, "gzip", "gzip"]);
  for (const s of modern.seen) assert.deepEqual(s.body, report, "the same report, whatever the encoding");
  const o = createAgentClient(older.url);
  for (let i = 0; i < 3; i++) assert.equal((await o.reportMetrics!("tok", report)).ok, true);
  assert.deepEqual(older.seen.map((s) => s.encoding), [null, null, null]);
  // Other calls are never compressed.
  assert.equal((await c.reportAttempts("tok", { hostId: "h1", updates: [] })).ok, true);
  assert.equal(modern.seen.at(-1)?.encoding, null);
});

void test("metrics reports: a server that refuses a gzipped body (400) gets it again plain, and plain ones after", async (t) => {
  // Accepts gzip at first (says so), then refuses it as an older server behind the same address would.
  const flaky = await recording((seen) => ({ status: seen.at(-1)?.encoding === "gzip" && seen.length > 2 ? 400 : 200, acceptsGzip: seen.length < 2 }));
  t.after(() => flaky.close());
  const c = createAgentClient(flaky.url);
  const results: boolean[] = [];
  for (let i = 0; i < 4; i++) results.push((await c.reportMetrics!("tok", report)).ok);
  assert.deepEqual(flaky.seen.map((s) => s.encoding), [null, "gzip", "gzip", null, null]);
  assert.deepEqual(results, [true, true, true, true], "the refused report is sent again at once, plain");
});
