import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { ApiClient, normalizeAddr } from "./client.ts";
import { startFakeApi } from "./fake.ts";
import { parseSse } from "./sse.ts";
import { TiffinError } from "../model/errors.ts";

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const addr = s.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

void test("normalizeAddr accepts host:port and URLs", () => {
  const cases: [string, string][] = [
    ["127.0.0.1:7070", "http://127.0.0.1:7070"],
    ["http://x:1/", "http://x:1"],
    ["https://tiffin.example.com", "https://tiffin.example.com"],
  ];
  for (const [input, want] of cases) assert.equal(normalizeAddr(input), want, input);
});

void test("calls send the bearer token and parse JSON", async (t) => {
  const api = await startFakeApi({ "GET /v1/jobs": { body: [{ name: "web", version: 2, replicas: 3, placed: 3, running: 3, healthy: 3, removed: false }] } });
  t.after(() => api.close());
  const c = new ApiClient({ addr: api.url, token: "sekrit" });
  const jobs = await c.jobs();
  assert.equal(jobs[0]?.name, "web");
  assert.equal(api.requests[0]?.auth, "Bearer sekrit");
});

void test("an answer of another shape is TIFFIN_BAD_ANSWER naming the field, and not sent to the next server", async (t) => {
  const bad = await startFakeApi({ "GET /v1/jobs": { body: [{ name: "web", version: "2", replicas: 3, placed: 3, running: 3, healthy: 3, removed: false }] } });
  const good = await startFakeApi({ "GET /v1/jobs": { body: [] } });
  t.after(() => (bad.close(), good.close()));
  const c = new ApiClient({ addr: `${bad.url},${good.url}`, token: "t" });
  await assert.rejects(c.jobs(), (err: unknown) => {
    assert.ok(err instanceof TiffinError, String(err));
    assert.equal(err.code, "TIFFIN_BAD_ANSWER");
    assert.match(err.message, /GET \/v1\/jobs with a body of another shape: \[0\]\.version: /);
    assert.match(err.hint ?? "", /another Tiffin version/);
    return true;
  });
  assert.equal(good.requests.length, 0, "not retried elsewhere");
  // A field a newer server added is no reason to refuse the answer.
  const newer = await startFakeApi({ "GET /v1/cluster": { body: { self: { id: "s", url: "u", leader: true, terms: [] }, leader: null, revision: 3, version: "9", zones: ["a"] } } });
  t.after(() => newer.close());
  assert.equal((await new ApiClient({ addr: newer.url, token: "t" }).cluster()).revision, 3);
});

void test("every user endpoint hits its method and path", async (t) => {
  // Complete answers: the client checks each against its schema (answer-schemas.ts).
  const spec = {
    name: "a", command: ["/bin/sleep", "1000"], env: {}, files: {}, replicas: 1, resources: { cpu: 1, memoryMiB: 256, diskMiB: 100 },
    constraints: { os: null, kernel: null, labels: {} }, spread: "none", antiAffinity: null, ports: [],
    restart: { backoffInitialMs: 1000, backoffMaxMs: 30_000, moveAfterFailures: 3 }, health: null, stop: { signal: "SIGTERM", graceMs: 5000 },
    maintenance: "move", disconnect: { stopAfterMs: null }, packages: [],
  };
  const host = (draining: boolean): unknown => ({
    id: "h1", name: "dev-1", address: "127.0.0.1:1", cores: 4, memoryMiB: 4096, diskMiB: 10_000, os: { id: "debian", version: "12" }, kernel: "6.1", labels: {}, runtime: "crun",
    domain: { region: "r", datacenter: "d", cluster: "c", rack: "k" }, draining, registeredAt: 1, status: "up", lastHeartbeatAt: 2, tasks: 0, used: { cpu: 0, memoryMiB: 0, diskMiB: 0 },
  });
  const api = await startFakeApi({
    "POST /v1/jobs": { body: { name: "a", version: 1, changed: true, revision: 5 } },
    "POST /v1/plan": { body: { name: "a", version: 1, current: null, changed: true, diff: [], placements: [], unplaced: [] } },
    "GET /v1/jobs/a%2Fb": { body: { name: "a/b", version: 1, removed: false, spec, tasks: [] } },
    "DELETE /v1/jobs/a": { body: { name: "a", removed: true } },
    "GET /v1/jobs/a/versions": { body: [] },
    "GET /v1/jobs/a/versions/3": { body: { name: "a", version: 3, spec, createdAt: 1 } },
    "GET /v1/hosts": { body: [] },
    "POST /v1/hosts/dev-1/drain": { body: host(true) },
    "POST /v1/hosts/dev-1/undrain": { body: host(false) },
    "GET /metrics": (_req, res) => res.end("tiffin_up 1\n"),
  });
  t.after(() => api.close());
  const c = new ApiClient({ addr: api.url, token: "t" });
  assert.equal((await c.apply(spec as never)).revision, 5);
  assert.equal(JSON.parse(api.requests[0]?.body ?? "").spec.name, "a");
  await c.plan(spec as never);
  assert.equal((await c.job("a/b")).name, "a/b");
  assert.equal((await c.removeJob("a")).removed, true);
  assert.deepEqual(await c.versions("a"), []);
  assert.equal((await c.version("a", 3)).version, 3);
  assert.deepEqual(await c.hosts(), []);
  assert.equal((await c.drain("dev-1")).draining, true);
  assert.equal((await c.undrain("dev-1")).draining, false);
  assert.equal(await c.metrics(), "tiffin_up 1\n");
});

void test("an ApiErrorBody becomes a TiffinError with the same code, message, hint and problems", async (t) => {
  const problems = [{ file: null, path: "resources.memoryMiB", message: "must be positive", value: "-1" }];
  const api = await startFakeApi({
    "POST /v1/jobs": { status: 400, body: { error: { code: "TIFFIN_SPEC_INVALID", message: "the spec is invalid", hint: "fix it", problems } } },
  });
  t.after(() => api.close());
  const c = new ApiClient({ addr: api.url, token: "t" });
  await assert.rejects(c.apply({} as never), (err: unknown) => {
    assert.ok(err instanceof TiffinError);
    assert.equal(err.code, "TIFFIN_SPEC_INVALID");
    assert.equal(err.message, "the spec is invalid");
    assert.equal(err.hint, "fix it");
    assert.deepEqual(err.problems, problems);
    return true;
  });
});

void test("an error without ApiErrorBody is described from its status", async (t) => {
  const api = await startFakeApi({ "GET /v1/hosts": (_req, res) => res.writeHead(401).end("nope") });
  t.after(() => api.close());
  await assert.rejects(new ApiClient({ addr: api.url, token: null }).hosts(), { code: "TIFFIN_UNAUTHORIZED" });
});

void test("connection refused is TIFFIN_UNAVAILABLE with the address and a hint", async () => {
  const port = await closedPort();
  const c = new ApiClient({ addr: `127.0.0.1:${port}`, token: null });
  await assert.rejects(c.jobs(), (err: unknown) => {
    assert.ok(err instanceof TiffinError);
    assert.equal(err.code, "TIFFIN_UNAVAILABLE");
    assert.equal(err.message, `cannot reach the Tiffin server at http://127.0.0.1:${port}`);
    assert.match(err.hint ?? "", /tiffin dev.*TIFFIN_ADDR/);
    return true;
  });
});

void test("a server that does not answer in time is TIFFIN_TIMEOUT", async (t) => {
  const api = await startFakeApi({ "GET /v1/jobs": () => undefined });
  t.after(() => api.close());
  await assert.rejects(new ApiClient({ addr: api.url, token: null, timeoutMs: 200 }).jobs(), { code: "TIFFIN_TIMEOUT" });
});

void test("logs stream chunks as they arrive, with the query built from the options", async (t) => {
  const api = await startFakeApi({
    "GET /v1/tasks/web/0/logs": (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("line 1\n");
      setTimeout(() => res.end("line 2\n"), 50);
    },
  });
  t.after(() => api.close());
  const c = new ApiClient({ addr: api.url, token: "t", timeoutMs: 1000 });
  const chunks: string[] = [];
  for await (const chunk of c.logs("web", 0, { stream: "stderr", follow: true, tail: 5, attempt: "a1" })) chunks.push(chunk);
  assert.equal(chunks.join(""), "line 1\nline 2\n");
  assert.ok(chunks.length >= 2, "delivered in more than one chunk");
  const q = new URL(`http://x${api.requests[0]?.url}`).searchParams;
  assert.deepEqual(Object.fromEntries(q), { stream: "stderr", attempt: "a1", follow: "1", tail: "5" });
});

void test("a followed log outlives the request timeout and stops when aborted", async (t) => {
  const api = await startFakeApi({
    "GET /v1/tasks/web/1/logs": (_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write("tick\n"), 100);
      res.on("close", () => clearInterval(timer));
    },
  });
  t.after(() => api.close());
  // The timeout bounds the wait for the answer's head; a loaded machine may take a good part of it, so it
  // is 400 ms here (100 ms flaked under load) and the stream runs past it: 7 ticks = 700 ms.
  const c = new ApiClient({ addr: api.url, token: "t", timeoutMs: 400 });
  const abort = new AbortController();
  let n = 0;
  await assert.rejects(async () => {
    for await (const _ of c.logs("web", 1, { follow: true, signal: abort.signal })) {
      if (++n === 7) abort.abort();
    }
  }, { name: "AbortError" });
  assert.equal(n, 7);
});

void test("watch yields typed events and bookmarks, skips comments and unknown events, and resumes after the last id without repeating a broken revision's events", async (t) => {
  let calls = 0;
  const api = await startFakeApi({
    "GET /v1/watch": (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      if (++calls === 1) {
        res.write(': hello\n\nevent: added\ndata: {"type":"added","kind":"job","name":"web","revision":3,"object":{"name":"web","version":1,"removedAt":null,"updatedAt":1}}\n\n');
        res.write('event: bookmark\nid: 5\ndata: {"type":"bookmark","revision":5}\n\nevent: ping\ndata: {}\n\n');
        // The connection breaks in revision 7: its first event has no id yet, so 7 is asked for again.
        res.write('event: updated\r\nid: 6\r\ndata: {"type":"updated","kind":"job","name":"web","revision":6,"object":{"name":"web","version":2,"removedAt":null,"updatedAt":2}}\r\n\r\n');
        res.end('event: removed\ndata: {"type":"removed","kind":"task","name":"web/1","revision":7,"object":null}\n\n');
        return;
      }
      // Revision 7 again, whole this time (its event already yielded is not yielded twice), then 8.
      res.write('event: removed\ndata: {"type":"removed","kind":"task","name":"web/1","revision":7,"object":null}\n\n');
      res.write('event: removed\nid: 7\ndata: {"type":"removed","kind":"task","name":"web/2","revision":7,"object":null}\n\n');
      res.write('event: removed\nid: 8\ndata: {"type":"removed","kind":"task","name":"web/3","revision":8,"object":null}\n\n');
    },
  });
  t.after(() => api.close());
  const c = new ApiClient({ addr: api.url, token: "t" });
  const got = [];
  for await (const m of c.watch({ kinds: ["job", "task"], maxRetryMs: 10 })) {
    got.push(m);
    if (got.length === 6) break;
  }
  assert.deepEqual(got.map((m) => (m.type === "bookmark" || m.type === "reset" ? m.type : `${m.type} ${m.name}@${m.revision}`)), ["added web@3", "bookmark", "updated web@6", "removed web/1@7", "removed web/2@7", "removed web/3@8"], "every change once, in order");
  assert.deepEqual(api.requests.map((r) => r.url), ["/v1/watch?kinds=job%2Ctask", "/v1/watch?kinds=job%2Ctask&from=7"]);
});

void test("watch: an object not of its kind's shape is a TIFFIN_BAD_ANSWER naming the field, not an event nor a reconnect", async (t) => {
  const api = await startFakeApi({
    "GET /v1/watch": (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('event: added\nid: 3\ndata: {"type":"added","kind":"job","name":"web","revision":3,"object":{"name":"web","version":"1","removedAt":null,"updatedAt":1}}\n\n');
      res.end();
    },
  });
  t.after(() => api.close());
  const c = new ApiClient({ addr: api.url, token: "t" });
  await assert.rejects(async () => {
    for await (const _ of c.watch({ maxRetryMs: 10 })) assert.fail("no event of a wrong shape");
  }, (err: unknown) => err instanceof TiffinError && err.code === "TIFFIN_BAD_ANSWER" && /added job web: object\.version/.test(err.message));
  assert.equal(api.requests.length, 1, "not retried");
});

void test("watch: an expired revision yields a reset and lists again, or throws with relist: false", async (t) => {
  const api = await startFakeApi({
    "GET /v1/watch": (req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      if ((req.url ?? "").includes("from=")) {
        res.end('event: expired\ndata: {"code":"TIFFIN_WATCH_EXPIRED","message":"gone","hint":"list again","compactRevision":40}\n\n');
        return;
      }
      res.write('event: added\ndata: {"type":"added","kind":"host","name":"h1","revision":41,"object":{"id":"h1","name":"h1","address":"127.0.0.1:1","cores":2,"memoryMiB":1024,"diskMiB":1024,"os":{"id":"debian","version":"12"},"kernel":"6.1.0","labels":{},"runtime":"crun","domain":{"region":"r","datacenter":"d","cluster":"c","rack":"k"},"draining":false,"registeredAt":1}}\n\nevent: bookmark\nid: 50\ndata: {"type":"bookmark","revision":50}\n\n');
    },
  });
  t.after(() => api.close());
  const c = new ApiClient({ addr: api.url, token: "t" });
  const got = [];
  for await (const m of c.watch({ kinds: ["host"], from: 2 })) {
    got.push(m.type);
    if (m.type === "bookmark") break;
  }
  assert.deepEqual(got, ["reset", "added", "bookmark"]);
  await assert.rejects(async () => {
    for await (const _ of c.watch({ from: 2, relist: false })) assert.fail("nothing before the expiry");
  }, { name: "WatchExpiredError", code: "TIFFIN_WATCH_EXPIRED", compactRevision: 40, hint: "list again" });
});

void test("watch: a 410 for a compacted start lists again too, or throws with where history starts", async (t) => {
  const api = await startFakeApi({
    "GET /v1/watch": (req, res) => {
      if ((req.url ?? "").includes("from=")) {
        res.writeHead(410, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "TIFFIN_WATCH_EXPIRED", message: "gone", hint: "list again", problems: [] }, compactRevision: 40 }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('event: bookmark\nid: 50\ndata: {"type":"bookmark","revision":50}\n\n');
    },
  });
  t.after(() => api.close());
  const c = new ApiClient({ addr: api.url, token: "t" });
  const got = [];
  for await (const m of c.watch({ from: 2 })) {
    got.push(m.type);
    if (m.type === "bookmark") break;
  }
  assert.deepEqual(got, ["reset", "bookmark"]);
  await assert.rejects(async () => {
    for await (const _ of c.watch({ from: 2, relist: false })) assert.fail("nothing before the expiry");
  }, { name: "WatchExpiredError", code: "TIFFIN_WATCH_EXPIRED", compactRevision: 40 });
});

void test("watch: a refused first connection rejects like any call", async () => {
  const c = new ApiClient({ addr: `127.0.0.1:${await closedPort()}`, token: "t" });
  await assert.rejects(async () => {
    for await (const _ of c.watch()) assert.fail("no server");
  }, { code: "TIFFIN_UNAVAILABLE" });
});

void test("parseSse joins multi-line data and splits across chunk boundaries", async () => {
  async function* chunks() {
    yield "event: a\nda";
    yield "ta: x\ndata: y\n";
    yield "\ndata: z\n\n";
  }
  const got = [];
  for await (const m of parseSse(chunks())) got.push(m);
  assert.deepEqual(got, [
    { event: "a", data: "x\ny", id: null },
    { event: "message", data: "z", id: null },
  ]);
});

void test("several servers: a call moves on from a dead server and from a 503, and stays with the one that answered", async (t) => {
  const dead = await closedPort();
  const cutOff = await startFakeApi({
    "POST /v1/jobs": { status: 503, body: { error: { code: "TIFFIN_UNAVAILABLE", message: "etcd unreachable", hint: null, problems: [] } } },
    "GET /v1/jobs": { status: 503, body: { error: { code: "TIFFIN_UNAVAILABLE", message: "etcd unreachable", hint: null, problems: [] } } },
  });
  const good = await startFakeApi({ "POST /v1/jobs": { body: { name: "a", version: 1, changed: true, revision: 9 } }, "GET /v1/jobs": { body: [] } });
  t.after(() => Promise.all([cutOff.close(), good.close()]));
  const c = new ApiClient({ addr: `127.0.0.1:${dead}, ${cutOff.url},${good.url}`, token: "t" });
  assert.equal(c.addrs.length, 3);
  assert.equal((await c.apply({ name: "a" } as never)).revision, 9);
  assert.equal(c.addr, good.url, "the server that answered is kept");
  assert.equal(cutOff.requests.length, 1, "the 503 server was tried once");
  await c.jobs();
  assert.equal(cutOff.requests.length, 1, "the next call goes straight to the good server");
  assert.equal(good.requests.length, 2);
});

void test("several servers: errors other servers would repeat are not retried; all down names every server", async (t) => {
  const invalid = await startFakeApi({ "POST /v1/jobs": { status: 422, body: { error: { code: "TIFFIN_SPEC_INVALID", message: "bad", hint: null, problems: [] } } } });
  const other = await startFakeApi({ "POST /v1/jobs": { body: {} } });
  t.after(() => Promise.all([invalid.close(), other.close()]));
  await assert.rejects(new ApiClient({ addr: `${invalid.url},${other.url}`, token: "t" }).apply({} as never), { code: "TIFFIN_SPEC_INVALID" });
  assert.equal(other.requests.length, 0);
  const [p1, p2] = [await closedPort(), await closedPort()];
  await assert.rejects(new ApiClient({ addr: `127.0.0.1:${p1},127.0.0.1:${p2}`, token: null }).jobs(), (err: unknown) => {
    assert.ok(err instanceof TiffinError);
    assert.equal(err.code, "TIFFIN_UNAVAILABLE");
    assert.match(err.message, new RegExp(`no Tiffin server answered GET /v1/jobs \\(tried http://127.0.0.1:${p1}, http://127.0.0.1:${p2}\\)`));
    return true;
  });
});

void test("exec yields the server's frames checked by their schema; a line that is no frame is TIFFIN_BAD_ANSWER", async (t) => {
  const api = await startFakeApi({
    "POST /v1/tasks/web/0/exec": (_req, res) => {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.end('{"type":"stdout","data":"hi\\n"}\n{"type":"exit","code":0}\n');
    },
  });
  t.after(() => api.close());
  const c = new ApiClient({ addr: api.url, token: "t", timeoutMs: 1000 });
  const frames: unknown[] = [];
  await assert.rejects(
    (async () => {
      for await (const f of c.exec("web", 0, { command: ["true"] })) frames.push(f);
    })(),
    (err: unknown) => err instanceof TiffinError && err.code === "TIFFIN_BAD_ANSWER" && /not an output frame.*signal/s.test(err.message),
  );
  assert.deepEqual(frames, [{ type: "stdout", data: "hi\n" }], "the good frame came first");
});

void test("an error body is read through its schema: a mistyped hint or problem is dropped, not passed on", async (t) => {
  const good = { file: null, path: "replicas", message: "must be positive", value: "-1" };
  const api = await startFakeApi({
    "POST /v1/jobs": { status: 400, body: { error: { code: "TIFFIN_SPEC_INVALID", message: "the spec is invalid", hint: 5, problems: [good, "oops", { path: 3 }] } } },
  });
  t.after(() => api.close());
  const c = new ApiClient({ addr: api.url, token: "t" });
  await assert.rejects(c.apply({} as never), (err: unknown) => {
    assert.ok(err instanceof TiffinError);
    assert.deepEqual([err.code, err.message, err.hint, err.problems], ["TIFFIN_SPEC_INVALID", "the spec is invalid", null, [good]]);
    return true;
  });
});
