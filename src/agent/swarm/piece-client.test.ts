// PieceClient against real servers on loopback: node:http servers, the real PieceServer, and raw
// `net` servers where a peer has to misbehave. Every socket of a client reads into one shared buffer,
// so bodies fetched in parallel are compared byte for byte.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { decodePiece, PieceEncoder, PieceStore, removeTree } from "../../pkg/index.ts";
import type { GetResult } from "./http-get.ts";
import { PieceClient, SweepMs } from "./piece-client.ts";
import type { PieceGetOptions } from "./piece-client.ts";
import { bucketOf, TokenBucket } from "./rate.ts";
import { PieceServer } from "./serve.ts";

const MiB = 1024 * 1024;
/** How late a paced download may end on this shared 2-core machine: the bucket refills by the time that
 * passed (rate.ts), so timers that fire late do not add up; only the last one's lateness shows. */
const slackSec = 0.3;

/** A listening server, the sockets it accepted (in order) and its base URL. */
interface Served {
  url: string;
  sockets: net.Socket[];
}

function opts(o: Partial<PieceGetOptions> = {}): PieceGetOptions {
  return { headers: {}, idleMs: 5000, maxBytes: 8 * MiB, bucket: null, ...o };
}

function client(t: TestContext): PieceClient {
  const c = new PieceClient();
  t.after(() => c.close());
  return c;
}

async function listen(t: TestContext, server: net.Server): Promise<Served> {
  const sockets: net.Socket[] = [];
  server.on("connection", (s: net.Socket) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets };
}

/** A node:http server answering with `handler`. */
function httpServer(t: TestContext, handler: http.RequestListener, tune: (s: http.Server) => void = () => {}): Promise<Served> {
  const server = http.createServer(handler);
  tune(server);
  return listen(t, server);
}

/** A raw TCP server: `onConn` gets each socket and the requests read on it (split on the blank line). */
function rawServer(t: TestContext, onRequest: (s: net.Socket, nth: number) => void): Promise<Served> {
  return listen(t, net.createServer((s) => {
    let pending = "";
    let nth = 0;
    s.on("error", () => {});
    s.on("data", (d: Buffer) => {
      pending += d.toString("latin1");
      for (let i = pending.indexOf("\r\n\r\n"); i >= 0; i = pending.indexOf("\r\n\r\n")) {
        pending = pending.slice(i + 4);
        onRequest(s, nth++);
      }
    });
  }));
}

function ok(r: GetResult | { error: string }): GetResult {
  assert.ok(!("error" in r), `expected an answer, got ${JSON.stringify(r)}`);
  return r;
}

function failed(r: GetResult | { error: string }, what = ""): string {
  assert.ok("error" in r, `${what}: expected an error, got status ${(r as GetResult).status}`);
  return r.error;
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
  }
}

const closed = (s: net.Socket): boolean => s.destroyed || s.readyState === "closed";

void test("a 4 MiB body arrives byte-exact with its status and encoding; sequential GETs reuse one connection", async (t) => {
  const body = randomBytes(4 * MiB);
  const s = await httpServer(t, (req, res) => {
    res.writeHead(req.url === "/missing" ? 404 : 200, { "content-length": body.length, "content-encoding": "zstd" });
    res.end(body);
  });
  const c = client(t);
  for (let i = 0; i < 5; i++) {
    const r = ok(await c.get(`${s.url}/piece?n=${i}`, opts()));
    assert.equal(r.status, 200);
    assert.equal(r.encoding, "zstd");
    assert.ok(r.body.equals(body), `GET ${i}: body differs`);
  }
  const r = ok(await c.get(`${s.url}/missing`, opts()));
  assert.equal(r.status, 404, "a status other than 200 with a Content-Length: its body is read too");
  assert.ok(r.body.equals(body));
  assert.equal(s.sockets.length, 1, "all six GETs went over one kept-alive connection");
});

void test("many parallel GETs of different bodies: each gets its own bytes (one shared read buffer)", async (t) => {
  const bodies = new Map<string, Buffer>();
  for (let i = 0; i < 24; i++) bodies.set(`/p/${i}`, randomBytes(256 * 1024 + i * 37 * 1024 + i));
  const s = await httpServer(t, (req, res) => {
    const b = bodies.get(req.url ?? "")!;
    res.writeHead(200, { "content-length": b.length });
    // Written in small parts, so the reads of the connections interleave.
    let off = 0;
    const next = (): void => {
      while (off < b.length) {
        const part = b.subarray(off, off + 16 * 1024);
        off += part.length;
        if (!res.write(part)) return void res.once("drain", next);
      }
      res.end();
    };
    next();
  });
  const c = client(t);
  for (let round = 0; round < 2; round++) {
    const results = await Promise.all([...bodies.keys()].map(async (p) => [p, await c.get(`${s.url}${p}`, opts())] as const));
    for (const [p, r] of results) {
      const got = ok(r);
      assert.equal(got.status, 200);
      assert.equal(got.body.length, bodies.get(p)!.length, `${p}: length`);
      assert.ok(got.body.equals(bodies.get(p)!), `round ${round}, ${p}: body differs from what was sent for it`);
    }
  }
  assert.ok(s.sockets.length >= 24, "the first round ran in parallel, one connection each");
  assert.ok(s.sockets.length < 48, `the second round reused the idle connections kept (${s.sockets.length} connections)`);
});

void test("the real PieceServer: 200 raw and zstd, 401, 404, 503 when busy; error pages do not break the next GET", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-pc-"));
  t.after(() => removeTree(dir));
  const store = new PieceStore(dir);
  const noise = randomBytes(256 * 1024);
  const text = Buffer.from("the same words again and again ".repeat(20_000));
  const hNoise = ok2(await store.put(noise));
  const hText = ok2(await store.put(text));
  // One upload at a time, paced so the first one is still running when the second caller arrives.
  const pieces = new PieceServer({ store, peerTokens: () => ["old", "tok"], maxUploads: 1, bucket: new TokenBucket(256 * 1024, 64 * 1024), encoder: new PieceEncoder() });
  const s = await httpServer(t, (req, res) => {
    if (!pieces.handle(req, res)) res.writeHead(400).end();
  });
  const c = client(t);
  const auth = { authorization: "Bearer tok" };
  const url = (h: string): string => `${s.url}/v1/pieces/${h}`;

  const slow = c.get(url(hNoise), opts({ headers: auth }));
  await until("the first upload to start", () => pieces.stats.peakUploads === 1);
  const busy = ok(await c.get(url(hText), opts({ headers: auth })));
  assert.equal(busy.status, 503);
  assert.match(busy.body.toString(), /"code":"TIFFIN_UNAVAILABLE"/, "the error page has a length: it is read");
  const raw = ok(await slow);
  assert.equal(raw.status, 200);
  assert.equal(raw.encoding, undefined);
  assert.ok(raw.body.equals(noise));
  assert.equal(pieces.stats.uploadsRefused, 1);

  const cases: { name: string; hash: string; headers: Record<string, string>; status: number }[] = [
    { name: "wrong token", hash: hText, headers: { authorization: "Bearer nope" }, status: 401 },
    { name: "no token", hash: hText, headers: {}, status: 401 },
    { name: "a piece it does not have", hash: createHash("sha256").update("absent").digest("hex"), headers: auth, status: 404 },
  ];
  for (const k of cases) {
    const before = s.sockets.length;
    const r = ok(await c.get(url(k.hash), opts({ headers: k.headers })));
    assert.equal(r.status, k.status, k.name);
    // The next GET works, on the same connection (the error page had a Content-Length).
    const z = ok(await c.get(url(hText), opts({ headers: { ...auth, "accept-encoding": "zstd" } })));
    assert.equal(z.status, 200, `after ${k.name}`);
    assert.equal(z.encoding, "zstd");
    assert.ok(z.body.length < text.length / 10);
    const decoded = decodePiece(z.body, z.encoding);
    assert.ok(Buffer.isBuffer(decoded) && decoded.equals(text), "the zstd body decodes to the piece");
    assert.equal(s.sockets.length, before, `after ${k.name}: the connection was kept`);
  }

  // An error page without a length (node:http's chunked default) is not read: its status comes back,
  // the connection is closed, and the next GET opens a new one.
  const plain = await httpServer(t, (_req, res) => {
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "x" }));
  });
  const chunked = ok(await c.get(`${plain.url}/x`, opts()));
  assert.equal(chunked.status, 500);
  assert.equal(chunked.body.length, 0);
  await until("the chunked answer's connection closed", () => plain.sockets.every(closed));
  assert.equal(ok(await c.get(`${plain.url}/x`, opts())).status, 500);
  assert.equal(plain.sockets.length, 2, "the next GET opened a new connection");
  // A successful GET leaves its connection open for the next.
  const before = s.sockets.length;
  ok(await c.get(url(hText), opts({ headers: { ...auth, "accept-encoding": "zstd" } })));
  assert.equal(s.sockets.length, before);
});

function ok2(r: { hash: string } | { error: string }): string {
  assert.ok("hash" in r, JSON.stringify(r));
  return r.hash;
}

void test("refusals are values: body over maxBytes, more bytes than Content-Length, head over 16 KiB, not HTTP", async (t) => {
  const pad = "x".repeat(20 * 1024);
  const cases: { name: string; answer: (s: net.Socket) => void; want: RegExp; maxBytes?: number }[] = [
    { name: "a body over maxBytes", maxBytes: 1000, want: /body over 1000 bytes/, answer: (s) => s.write(`HTTP/1.1 200 OK\r\ncontent-length: 1001\r\n\r\n${"b".repeat(1001)}`) },
    { name: "more bytes than Content-Length", want: /more bytes than its Content-Length 10/, answer: (s) => s.write(`HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n${"b".repeat(30)}`) },
    { name: "a 200 without Content-Length", want: /without Content-Length/, answer: (s) => s.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n") },
    { name: "a head over 16 KiB in one write", want: /response head over 16384 bytes/, answer: (s) => s.write(`HTTP/1.1 200 OK\r\nx-pad: ${pad}\r\ncontent-length: 2\r\n\r\nok`) },
    {
      name: "a head over 16 KiB that never ends",
      want: /response head over 16384 bytes/,
      answer: (s) => {
        s.write("HTTP/1.1 200 OK\r\n");
        const timer = setInterval(() => (s.destroyed ? clearInterval(timer) : s.write(`x-pad: ${"y".repeat(1000)}\r\n`)), 2);
      },
    },
    { name: "garbage", want: /not an HTTP\/1\.1 response/, answer: (s) => s.write("SSH-2.0-OpenSSH_9.6\r\n\r\n") },
    { name: "garbage, then close", want: /closed mid-answer/, answer: (s) => s.end("nonsense") },
  ];
  for (const k of cases) {
    const s = await rawServer(t, (sock) => k.answer(sock));
    const url = `${s.url}/piece`;
    const err = failed(await client(t).get(url, opts(k.maxBytes ? { maxBytes: k.maxBytes } : {})), k.name);
    assert.match(err, k.want, k.name);
    assert.ok(err.startsWith(url), `${k.name}: the error names the URL: ${err}`);
    await until(`${k.name}: the connection closed`, () => s.sockets.every(closed));
  }
});

void test("a kept-alive connection the server closed: the next GET goes on a fresh connection and succeeds", async (t) => {
  const answer = "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
  const cases: { name: string; onRequest: (s: net.Socket, nth: number) => void }[] = [
    // Closed as soon as the request reaches it: the client learns only after sending, and retries.
    { name: "closed on the second request", onRequest: (s, nth) => (nth === 0 ? s.write(answer) : s.destroy()) },
    // Closed right after the answer without `connection: close`: a race the next GET can lose.
    { name: "closed after one answer", onRequest: (s) => s.end(answer) },
  ];
  for (const k of cases) {
    const requests: number[] = [];
    const s = await rawServer(t, (sock, nth) => {
      requests.push(nth);
      k.onRequest(sock, nth);
    });
    const c = client(t);
    for (let i = 0; i < 3; i++) {
      const r = ok(await c.get(`${s.url}/p`, opts()));
      assert.equal(r.body.toString(), "hello", `${k.name}: GET ${i}`);
    }
    assert.equal(s.sockets.length, 3, `${k.name}: one connection per answer`);
    if (k.name === "closed on the second request") assert.deepEqual(requests, [0, 1, 0, 1, 0], "each reused connection got the request before it was closed");
  }

  // node:http closing an idle connection after its keep-alive timeout.
  const s = await httpServer(t, (_req, res) => res.end("hi"), (srv) => (srv.keepAliveTimeout = 50));
  const c = client(t);
  assert.equal(ok(await c.get(`${s.url}/a`, opts())).body.toString(), "hi");
  await until("the server to close the idle connection", () => s.sockets.every(closed));
  assert.equal(ok(await c.get(`${s.url}/b`, opts())).body.toString(), "hi");
  assert.equal(s.sockets.length, 2);
});

void test("connection refused and a server that stops mid-body are errors naming the URL", async (t) => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const c = client(t);
  const refused = `http://127.0.0.1:${port}/v1/pieces/x`;
  const err = failed(await c.get(refused, opts()));
  assert.ok(err.startsWith(refused), err);
  assert.match(err, /ECONNREFUSED/);

  // A body that trickles (10 bytes every 100 ms for 0.6 s), then stalls: the idle time counts from the
  // last bytes, not from the request (a request timeout of idleMs would end it while data still flowed).
  const idleMs = 200;
  let lastData = 0;
  const s = await rawServer(t, (sock) => {
    sock.write(`HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n${"a".repeat(100)}`);
    let drips = 6;
    const drip = setInterval(() => {
      if (drips-- === 0 || sock.destroyed) return clearInterval(drip);
      sock.write("b".repeat(10));
      lastData = performance.now();
    }, 100);
  });
  const stalled = failed(await c.get(`${s.url}/slow`, opts({ idleMs })));
  const ms = performance.now() - lastData;
  assert.match(stalled, /\/slow: no data for 200 ms/);
  // Ended idleMs after the last bytes, found by the next idle sweep (SweepMs), + 1 s for a loaded machine.
  assert.ok(ms >= idleMs - 10, `gave up ${ms.toFixed(0)} ms after the last bytes, before idleMs (${idleMs})`);
  assert.ok(ms <= idleMs + SweepMs + 1000, `gave up ${ms.toFixed(0)} ms after the last bytes (idleMs ${idleMs}, sweep ${SweepMs})`);
  await until("the stalled connection closed", () => s.sockets.every(closed));
});

void test("with a bucket the download is paced to its rate, and still byte-exact", async (t) => {
  const body = randomBytes(MiB);
  const s = await httpServer(t, (_req, res) => {
    res.writeHead(200, { "content-length": body.length });
    res.end(body);
  });
  const c = client(t);
  const free = ok(await c.get(`${s.url}/p`, opts()));
  assert.ok(free.body.equals(body));
  const t0 = performance.now();
  const r = ok(await c.get(`${s.url}/p`, opts({ bucket: bucketOf(2 * MiB) })));
  const sec = (performance.now() - t0) / 1000;
  t.diagnostic(`1 MiB at 2 MiB/s: ${sec.toFixed(3)} s`);
  assert.ok(r.body.equals(body));
  // 1 MiB less the bucket's burst (a tenth of a second) at 2 MiB/s: 0.4 s. Paced at half the rate (tokens
  // taken twice) it would take 0.9 s: the bound sits between, with slackSec for a loaded machine.
  const want = (MiB - (2 * MiB) / 10) / (2 * MiB);
  assert.ok(sec >= want - 0.02 && sec <= want + slackSec, `1 MiB at 2 MiB/s took ${sec.toFixed(2)} s, expected ${want.toFixed(2)} s`);
  assert.equal(s.sockets.length, 1, "a paced GET leaves its connection reusable");
  assert.ok(ok(await c.get(`${s.url}/p`, opts())).body.equals(body));

  // A body that comes in one or two reads is paced too: the answer waits for its last bytes' tokens.
  const small = randomBytes(100 * 1024);
  const raw = await rawServer(t, (sock) => sock.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${small.length}\r\n\r\n`), small])));
  const t1 = performance.now();
  const r2 = ok(await c.get(`${raw.url}/small`, opts({ bucket: new TokenBucket(256 * 1024, 16 * 1024) })));
  const sec2 = (performance.now() - t1) / 1000;
  assert.ok(r2.body.equals(small));
  // 100 KiB less a 16 KiB burst at 256 KiB/s: 0.33 s (at half the rate: 0.72 s).
  const want2 = (100 - 16) / 256;
  assert.ok(sec2 >= want2 - 0.02 && sec2 <= want2 + slackSec, `100 KiB at 256 KiB/s took ${sec2.toFixed(2)} s, expected ${want2.toFixed(2)} s`);
});

void test("close() destroys idle connections; later GETs open new ones", async (t) => {
  const s = await httpServer(t, (_req, res) => res.end("piece"));
  const c = client(t);
  await Promise.all([1, 2, 3].map(async (i) => assert.equal(ok(await c.get(`${s.url}/${i}`, opts())).body.toString(), "piece")));
  assert.equal(s.sockets.length, 3);
  assert.ok(s.sockets.every((x) => !closed(x)), "kept alive after their answers");
  c.close();
  await until("the server to see every connection close", () => s.sockets.every(closed));
  assert.equal(ok(await c.get(`${s.url}/4`, opts())).body.toString(), "piece");
  assert.equal(s.sockets.length, 4);
});
