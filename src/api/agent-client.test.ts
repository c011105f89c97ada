// The agent's client with several servers: it moves on from a dead server, a 503 and a server that
// hangs past the call's timeout; it stays with the one that answered and says when it moved.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { test } from "node:test";
import { createAgentClient } from "./agent-client.ts";

async function server(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const s = createServer((req, res) => {
    hits++;
    req.resume();
    req.on("end", () => handle(req, res));
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const a = s.address();
  const port = typeof a === "object" && a ? a.port : 0;
  return { url: `http://127.0.0.1:${port}`, hits: () => hits, close: () => new Promise((r) => { s.closeAllConnections(); s.close(() => r()); }) };
}

const ok = (_req: IncomingMessage, res: ServerResponse): void => void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, reregister: false }));

void test("heartbeats move past a dead server, a 503 and a hanging server, and stay where they got through", async (t) => {
  const dead = await server(ok);
  await dead.close();
  const cutOff = await server((_req, res) => void res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "TIFFIN_UNAVAILABLE", message: "store unreachable" } })));
  const hanging = await server(() => undefined);
  const good = await server(ok);
  t.after(() => Promise.all([cutOff.close(), hanging.close(), good.close()]));
  const c = createAgentClient(`${dead.url},${cutOff.url}/, ${hanging.url},${good.url}`);
  const switches: string[] = [];
  c.onSwitch?.((u) => switches.push(u));
  assert.equal(c.baseUrl, dead.url);
  const r = await c.heartbeat("tok", { hostId: "h1" }, { timeoutMs: 300 });
  assert.equal(r.ok, true);
  assert.equal(c.baseUrl, good.url);
  assert.deepEqual(switches, [good.url]);
  assert.equal(c.assignmentsUrl(), `${good.url}/v1/agent/assignments`);
  await c.heartbeat("tok", { hostId: "h1" });
  assert.equal(good.hits(), 2);
  assert.equal(cutOff.hits(), 1, "the next call went straight to the server that answered");

  // A stream failing on the current server moves calls on (wrapping around); on another, it does not.
  c.skip?.(`${dead.url}/v1/agent/assignments`);
  assert.equal(c.baseUrl, good.url, "a failure on a server we already left changes nothing");
  c.skip?.(c.assignmentsUrl());
  assert.equal(c.baseUrl, dead.url);
});

void test("a 401 is an answer, not a server failure: no other server is tried", async (t) => {
  const refuses = await server((_req, res) => void res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "TIFFIN_UNAUTHORIZED", message: "bad token" } })));
  const other = await server(ok);
  t.after(() => Promise.all([refuses.close(), other.close()]));
  const c = createAgentClient([refuses.url, other.url]);
  const r = await c.heartbeat("tok", { hostId: "h1" });
  assert.deepEqual(r, { ok: false, status: 401, code: "TIFFIN_UNAUTHORIZED", message: "bad token" });
  assert.equal(other.hits(), 0);
});

void test("an answer of the wrong shape is a failed call naming the field, and the next server is tried", async (t) => {
  // A server of another version: a 200 whose heartbeatMs is text, and a register answer with no token.
  const odd = await server((req, res) => {
    const body = req.url === "/v1/agent/register" ? { hostId: "h1", heartbeatMs: 1000, downAfterMs: 3000, fenceMs: 2000 } : { ok: true, reregister: false, heartbeatMs: "soon" };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  t.after(() => odd.close());
  const alone = createAgentClient(odd.url);
  const hb = await alone.heartbeat("tok", { hostId: "h1" });
  assert.equal(hb.ok, false);
  if (!hb.ok) assert.match(hb.message, /heartbeat is not what this agent expects \(heartbeatMs: .*\)/);
  const reg = await alone.register("join", { inventory: { name: "a", address: "a:1", cores: 1, memoryMiB: 1, diskMiB: 1, os: { id: "debian", version: "12" }, kernel: "6.1", labels: {}, runtime: "none" } });
  assert.equal(reg.ok, false, "no hostToken: the agent must not save an identity without one");
  if (!reg.ok) assert.match(reg.message, /hostToken/);
  const good = await server(ok);
  t.after(() => good.close());
  const both = createAgentClient([odd.url, good.url]);
  assert.equal((await both.heartbeat("tok", { hostId: "h1" })).ok, true);
  assert.equal(both.baseUrl, good.url);
});
