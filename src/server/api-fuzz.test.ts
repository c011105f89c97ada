// API fuzzing (issue 17, "Hardening measured by tests") against a real server on a real SQLite file:
// every route of router.list(), upgrades included, called with the token its rule wants and odd ids in
// every path parameter (traversal, encoded bytes, NUL, unicode, huge), odd query strings, malformed,
// mistyped, oversized and deeply nested bodies, wrong content types and encodings, and every method it
// does not take. No answer is a 5xx, none carries a stack trace or a file path, a refused call changes
// nothing, and the server still answers after. Then slow clients (slowloris): headers or a body
// trickled in are cut at the configured timeouts. Seeded (TIFFIN_FUZZ_SEED) and bounded by time
// (TIFFIN_FUZZ_MS; `npm run fuzz`).
import assert from "node:assert/strict";
import { request } from "node:http";
import net from "node:net";
import path from "node:path";
import { test } from "node:test";
import { inspect } from "node:util";
import { compileJobs } from "../spec/api.ts";
import { openSqliteStore } from "../state/sqlite.ts";
import type { Store } from "../state/store.ts";
import { FakeAgent, startTestServer, tempDir } from "./testing/harness.ts";
import { assertNoLeak, fuzzBudgetMs, fuzzSeed, mutateJson, oddValue, pick, rngOf } from "./testing/fuzz.ts";
import type { Rng } from "./testing/fuzz.ts";

/** Path parameters as sent on the wire (already escaped where a raw byte would not be a valid path). */
const oddIds = [
  "..", "%2e%2e", "..%2f..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fstate.db", "%00", "a%00b", "%ff%fe", "%c0%ae%c0%ae",
  "%F0%9F%99%82", "%E2%80%AE", "-1", "0", "99999999999999999999", "__proto__", "constructor", "%0d%0aset-cookie:%20x",
  "*", "%20", "a".repeat(4000), "alpha", "web", "default",
];

const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/** One raw call; answers with status and at most 64 KB of body, read for at most `ms` (@default 100; streams are cut). */
function raw(url: string, o: { method: string; path: string; headers?: Record<string, string>; body?: Buffer | string; upgrade?: boolean; ms?: number }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const body = o.body === undefined ? undefined : Buffer.from(o.body);
    const req = request(`${url}${o.path}`, {
      method: o.method,
      headers: { ...(body ? { "content-length": String(body.length) } : {}), ...(o.upgrade ? { connection: "Upgrade", upgrade: "tiffin-exec.v1" } : {}), ...o.headers },
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer head in 10 s: ${o.method} ${o.path.slice(0, 200)}`)), 10_000);
    req.on("upgrade", (res, socket) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, text: "" });
    });
    req.on("response", (res) => {
      clearTimeout(timer);
      let text = "";
      const done = (): void => {
        clearTimeout(cut);
        res.destroy();
        resolve({ status: res.statusCode ?? 0, text });
      };
      const cut = setTimeout(done, o.ms ?? 100);
      res.on("data", (d: Buffer) => {
        text += d.toString("utf8");
        if (text.length > 65_536) done();
      });
      res.on("end", done);
      res.on("error", done);
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // The server may close a connection whose body it refused before reading it all.
      if (err.code === "ECONNRESET" || err.code === "EPIPE") resolve({ status: -1, text: "" });
      else reject(err);
    });
    req.end(body);
  });
}

/** Bodies a client should never send. */
function oddBody(r: Rng): { body: string | Buffer; headers: Record<string, string> } {
  const json = { "content-type": "application/json" };
  const n = 1000 + Math.floor(r() * 200_000);
  const choices: (() => { body: string | Buffer; headers: Record<string, string> })[] = [
    () => ({ body: "", headers: json }),
    () => ({ body: "{", headers: json }),
    () => ({ body: '{"a":', headers: json }),
    () => ({ body: "nul", headers: json }),
    () => ({ body: "null", headers: json }),
    () => ({ body: "[]", headers: json }),
    () => ({ body: "1e999", headers: json }),
    () => ({ body: '"x"', headers: json }),
    () => ({ body: '{"a": NaN}', headers: json }),
    () => ({ body: '{"__proto__": {"admin": true}, "constructor": {"prototype": {"x": 1}}}', headers: json }),
    () => ({ body: "\uFEFF{}", headers: json }),
    () => ({ body: Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x7d]), headers: json }),
    () => ({ body: `${"[".repeat(n)}${"]".repeat(n)}`, headers: json }),
    () => ({ body: `${'{"a":'.repeat(n / 5)}1${"}".repeat(n / 5)}`, headers: json }),
    () => ({ body: JSON.stringify({ spec: "x".repeat(2 * 1024 * 1024) }), headers: json }),
    () => ({ body: "{}", headers: { "content-type": "text/plain" } }),
    () => ({ body: "{}", headers: { "content-type": "application/json", "content-encoding": "gzip" } }),
    () => ({ body: "{}", headers: { "content-type": "application/json", "content-encoding": "br" } }),
    () => ({ body: JSON.stringify(mutateJson({ name: "web", policy: ["*=admin"], version: "1.0.0", reason: "x", hosts: ["alpha"], params: { a: "b" }, key: "k", replicas: 1, ttlMs: 1000 }, r)) ?? "null", headers: json }),
    () => ({ body: JSON.stringify({ [String(oddValue(r)).slice(0, 50)]: oddValue(r) }) ?? "null", headers: json }),
  ];
  return pick(r, choices)();
}

/** Query strings no client sends. */
function oddQuery(r: Rng): string {
  return pick(r, ["", "", "?since=abc", "?from=-1", "?from=1e400", "?attempt=..%2F..%2Fetc%2Fpasswd", "?kinds=nope&job=%00", "?limit=-5&tail=99999999999", "?follow=1&grep=(a%2B)%2B%24", `?x=${"y".repeat(6000)}`, "?%zz=1", "?host=..&job=.."]);
}

/** Everything but what moves by itself (audit entries of refused calls, leases, metrics and usage). */
async function state(store: Store): Promise<string> {
  const { kvs } = await store.range("");
  const noise = ["/audit/", "/alive/", "/leader", "/usage/", "/metricblocks/", "/checks/"];
  return kvs.filter((kv) => !noise.some((p) => kv.key.startsWith(p))).map((kv) => `${kv.key}@${kv.modRevision}`).join("\n");
}

void test(`API fuzz: every route, odd ids, bodies, queries and methods: no 5xx, no leak, state unchanged (seed ${fuzzSeed})`, async (t) => {
  const dir = tempDir();
  const store = openSqliteStore(path.join(dir, "state.db"));
  // Hosts stay up for the whole run: a host going down would change the state by itself.
  const ts = await startTestServer({ dir, store, timing: { heartbeatMs: 60_000, suspectMs: 120_000, downMs: 180_000 } });
  t.after(async () => {
    // Bounded, so a server that does not close fails the test below instead of holding the suite.
    await watchdog(ts.cleanup(), "closing the server").catch(() => undefined);
    await store.close();
  });
  const { server } = ts;
  const agent = new FakeAgent(server.url, "alpha");
  await agent.register(server.joinToken);
  // A job and a host with the names among the odd ids, so some calls reach real objects (no replicas:
  // the reconciler has nothing to write meanwhile).
  await ts.api.apply({ ...(compileJobs({ name: "web", command: ["./web"], replicas: 0 }, null).specs[0] ?? assert.fail("a valid job")) });
  const tokenOf = { admin: server.adminToken, join: server.joinToken, host: agent.reg?.hostToken ?? "", none: "" } as const;
  const routes = server.routes();
  assert.ok(routes.length >= 60, `${routes.length} routes`);
  const r = rngOf(fuzzSeed + 17);
  const seen = new Map<string, number>();
  const fails: string[] = [];
  let before = "";
  let n = 0;

  const one = async (method: string, pathAndQuery: string, auth: keyof typeof tokenOf, upgrade: boolean, what: string): Promise<void> => {
    const body = method === "GET" ? undefined : oddBody(r);
    if (process.env["TIFFIN_FUZZ_TRACE"]) process.stderr.write(`${new Date().toISOString()} ${method} ${pathAndQuery.slice(0, 100)}\n`);
    // Read just before: an accepted call (a drain, a scale) may still change the state after it answered.
    before = await watchdog(state(store), "reading the state");
    const res = await watchdog(raw(server.url, {
      method,
      path: pathAndQuery,
      upgrade,
      headers: { ...(auth === "none" ? {} : { authorization: `Bearer ${tokenOf[auth]}` }), ...(body?.headers ?? {}) },
      ...(body ? { body: body.body } : {}),
    }), `${method} ${pathAndQuery.slice(0, 100)}`);
    n++;
    seen.set(String(res.status), (seen.get(String(res.status)) ?? 0) + 1);
    const shown = `${what}: ${method} ${pathAndQuery.slice(0, 160)} ${body ? String(body.body).slice(0, 80) : ""} -> ${res.status} ${res.text.slice(0, 300)}`;
    if (res.status >= 500) fails.push(shown);
    try {
      assertNoLeak(res.text, shown, [dir]);
    } catch (err) {
      fails.push((err as Error).message);
    }
    if (res.status >= 400 || res.status === -1) {
      const now = await watchdog(state(store), "reading the state");
      if (now !== before) fails.push(`${shown}: a refused call changed the state`);
    }
  };

  // Every route: odd ids in every parameter (three a route, taking turns, so every id meets several
  // routes), with an odd body and query, with the token it wants.
  const until = Date.now() + fuzzBudgetMs(2000);
  const patterns = [...new Set(routes.map((x) => x.pattern))];
  let turn = 0;
  for (const rt of routes) {
    const ids = rt.pattern.includes(":") ? [0, 1, 2].map(() => oddIds[turn++ % oddIds.length] ?? "x") : ["-"];
    for (const id of ids) await one(rt.method, `${rt.pattern.replace(/:[a-zA-Z0-9]+/g, id)}${oddQuery(r)}`, rt.auth, rt.upgrade, `route ${rt.method} ${rt.pattern}`);
  }
  // Every route that takes a body, with a body nested past any recursive reader's stack (on names that
  // do not exist: a drain accepted here would go on changing the state during the later calls).
  const deep = 30_000; // JSON.stringify overflows at about 10,000
  for (const rt of routes.filter((x) => x.method !== "GET" && !x.upgrade)) {
    const p = rt.pattern.replace(/:[a-zA-Z0-9]+/g, (m) => (m === ":index" ? "0" : "nope"));
    for (const body of [`${'{"a":'.repeat(deep)}1${"}".repeat(deep)}`, `{"index": ${"[".repeat(deep)}${"]".repeat(deep)}}`]) {
      const res = await watchdogRaw(server.url, { method: rt.method, path: p, headers: { authorization: `Bearer ${tokenOf[rt.auth]}`, "content-type": "application/json" }, body });
      n++;
      if (res.status >= 500) fails.push(`deep body on ${rt.method} ${p}: ${res.status} ${res.text.slice(0, 200)}`);
    }
  }
  before = await state(store);
    // Every method a pattern does not take (with the admin token; one of them without a token too).
  for (const p of patterns) {
    const taken = routes.filter((x) => x.pattern === p).map((x) => x.method);
    const wrong = methods.filter((x) => !taken.includes(x));
    for (const m of wrong) await one(m, p.replace(/:[a-zA-Z0-9]+/g, "x"), "admin", false, `wrong method on ${p}`);
    await one(pick(r, wrong), p.replace(/:[a-zA-Z0-9]+/g, "x"), "none", false, `wrong method, no token, on ${p}`);
  }
  // Then random calls until the budget is spent.
  while (Date.now() < until) {
    const rt = pick(r, routes);
    const p = rt.pattern.replace(/:[a-zA-Z0-9]+/g, () => pick(r, oddIds));
    await one(r() < 0.9 ? rt.method : pick(r, methods), `${p}${oddQuery(r)}`, r() < 0.9 ? rt.auth : pick(r, ["admin", "none", "host", "join"] as const), rt.upgrade, `random ${rt.pattern}`);
  }
  // Odd bytes in the request line and headers, which no client library sends.
  for (const line of ["GET /v1/jobs/\u0000 HTTP/1.1", "GET /v1/jobs/a b HTTP/1.1", "GET /v1/../../etc/passwd HTTP/1.1", "GET //v1//jobs HTTP/1.1", "BREW /v1/jobs HTTP/1.1", "GET /v1/jobs HTTP/9.9", `GET /${"a".repeat(20_000)} HTTP/1.1`]) {
    if (process.env["TIFFIN_FUZZ_TRACE"]) process.stderr.write(`${new Date().toISOString()} raw ${line.slice(0, 60)}\n`);
    const text = await rawSocket(server.url, `${line}\r\nhost: x\r\nauthorization: Bearer ${server.adminToken}\r\n\r\n`);
    const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0);
    if (status >= 500) fails.push(`${JSON.stringify(line.slice(0, 60))} -> ${text.slice(0, 200)}`);
    try {
      assertNoLeak(text, line.slice(0, 60), [dir]);
    } catch (err) {
      fails.push((err as Error).message);
    }
  }
  assert.deepEqual(fails.slice(0, 20), [], `${fails.length} failures of ${n} calls`);
  if (process.env["TIFFIN_FUZZ_TRACE"]) process.stderr.write(`${new Date().toISOString()} done: ${fails.length} failures\n`);
  // Still answering, and still doing its work.
  const health = await watchdog(raw(server.url, { method: "GET", path: "/healthz" }), "healthz after the fuzz");
  assert.equal(health.status, 200);
  const ready = await watchdog(raw(server.url, { method: "GET", path: "/readyz" }), "readyz after the fuzz");
  assert.equal(ready.status, 200, `readyz after the fuzz: ${ready.text}`);
  const created = await watchdogRaw(server.url, { method: "POST", path: "/v1/tokens", headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" }, body: JSON.stringify({ name: "after-fuzz", policy: ["ns/default=read"] }), ms: 5000 });
  assert.ok(created.status < 300 && created.text.includes("after-fuzz"), `a token created after the fuzz: ${created.status} ${created.text}`);
  // And it stops: no connection the fuzz opened (streams, upgrades) holds its close.
  const closed = await Promise.race([ts.stop().then(() => true), new Promise<boolean>((res) => setTimeout(() => res(false), 5000))]);
  assert.ok(closed, "the server did not close within 5 s after the fuzz");
  console.log(`API fuzz: ${n} calls over ${routes.length} routes, statuses ${inspect(Object.fromEntries([...seen].sort()))}`);
});

/** Sends `text` on a raw connection; the answer (up to the server's close or 2 s). */
function rawSocket(url: string, text: string): Promise<string> {
  return watchdog(rawSocketOnce(url, text), `raw ${text.slice(0, 60)}`);
}

/** `p`, or a rejection naming `what` after 15 s: a call that hangs fails the test instead of holding it. */
function watchdog<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error(`no outcome in 15 s: ${what}`)), 15_000)));
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** raw() under the watchdog. */
function watchdogRaw(url: string, o: Parameters<typeof raw>[1]): ReturnType<typeof raw> {
  return watchdog(raw(url, o), `${o.method} ${o.path}`);
}

function rawSocketOnce(url: string, text: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port), u.hostname);
    let out = "";
    const done = (): void => {
      s.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, 2000);
    s.on("data", (d: Buffer) => (out += d.toString("latin1")));
    s.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.on("error", () => undefined);
    s.write(text, "latin1");
  });
}

/** Opens a connection, sends `first`, then one byte of `rest` every `everyMs`; resolves with what the
 * server answered and how long it kept the connection (ms), or null if still open after `giveUpMs`. */
function trickle(url: string, first: string, rest: string, everyMs: number, giveUpMs: number): Promise<{ answer: string; openMs: number } | null> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect(Number(u.port), u.hostname, () => s.write(first));
    let answer = "";
    let i = 0;
    const drip = setInterval(() => {
      if (i < rest.length && s.writable) s.write(rest[i++] ?? "");
    }, everyMs);
    const end = (v: { answer: string; openMs: number } | null): void => {
      clearInterval(drip);
      clearTimeout(giveUp);
      s.destroy();
      resolve(v);
    };
    const giveUp = setTimeout(() => end(null), giveUpMs);
    s.on("data", (d: Buffer) => (answer += d.toString("latin1")));
    s.on("close", () => end({ answer, openMs: Date.now() - t0 }));
    s.on("error", () => undefined);
  });
}

void test("slow clients (slowloris): trickled headers and a trickled body are cut at the timeouts, the server answers others meanwhile", async (t) => {
  const dir = tempDir();
  const ts = await startTestServer({ dir, httpTimeouts: { headersTimeoutMs: 400, requestTimeoutMs: 800, checkMs: 50 } });
  t.after(() => ts.cleanup());
  const { server } = ts;
  const auth = `authorization: Bearer ${server.adminToken}\r\n`;
  const body = JSON.stringify({ name: "slow", policy: ["ns/default=read"] });
  const [headers, bodySlow, fine] = await Promise.all([
    // Headers that never end: one more header byte every 50 ms.
    trickle(server.url, "GET /v1/jobs HTTP/1.1\r\nhost: x\r\n", "x-slow: ".padEnd(2000, "a"), 50, 5000),
    // Headers at once, then a body a byte every 50 ms (it would take 2 s).
    trickle(server.url, `POST /v1/tokens HTTP/1.1\r\nhost: x\r\n${auth}content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`, body, 50, 5000),
    // Meanwhile others are served.
    (async () => {
      await new Promise((r) => setTimeout(r, 200));
      return (await raw(server.url, { method: "GET", path: "/v1/jobs", headers: { authorization: `Bearer ${server.adminToken}` } })).status;
    })(),
  ]);
  assert.equal(fine, 200);
  assert.ok(headers !== null, "trickled headers still open after 5 s");
  assert.ok(headers.openMs < 1500, `trickled headers held the connection ${headers.openMs} ms`);
  assert.match(headers.answer, /^HTTP\/1\.1 408 |^$/);
  assert.ok(bodySlow !== null, "a trickled body still open after 5 s");
  assert.ok(bodySlow.openMs < 2000, `a trickled body held the connection ${bodySlow.openMs} ms`);
  assert.doesNotMatch(bodySlow.answer, /^HTTP\/1\.1 20/, "the slow call was not served");
  assert.equal((await ts.api.tokens()).some((x) => x.name === "slow"), false, "nothing was created");
});
