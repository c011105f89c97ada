// The local proxy against real sockets: round robin over endpoints, a dead endpoint skipped at
// connect (the client sees no error), a dropped endpoint's connections cut, nothing to relay to
// refused, and a half-closed request still answered.
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import pino from "pino";
import { ServiceProxy } from "./proxy.ts";

/** A server answering each connection's bytes with `name:` and the bytes, then keeping it open. */
async function named(name: string): Promise<{ port: number; close(): void }> {
  const socks = new Set<net.Socket>();
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    socks.add(s);
    s.on("data", (d) => s.write(`${name}:${d.toString()}`));
    s.on("end", () => s.end());
    s.on("error", () => {});
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const addr = srv.address();
  return { port: typeof addr === "object" && addr ? addr.port : 0, close: () => { srv.close(); for (const s of socks) s.destroy(); } };
}

/** Sends `msg` through the proxy and reads the first answer (or "closed"). */
function ask(port: number, msg: string, halfClose = false): Promise<{ answer: string; sock: net.Socket }> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    sock.on("error", () => {});
    sock.once("data", (d) => resolve({ answer: d.toString(), sock }));
    sock.once("end", () => resolve({ answer: "closed", sock }));
    sock.once("close", () => resolve({ answer: "closed", sock }));
    sock.on("connect", () => (halfClose ? sock.end(msg) : sock.write(msg)));
  });
}

void test("service proxy: round robin, dead endpoints skipped, dropped ones cut, none refused", async (t) => {
  const a = await named("a");
  const b = await named("b");
  const dead = await named("dead");
  dead.close(); // its port now refuses connections
  t.after(() => { a.close(); b.close(); });
  const proxy = new ServiceProxy({ service: "echo", port: 0, log: pino({ level: "silent" }), connectTimeoutMs: 500 });
  const port = await proxy.listen();
  t.after(() => proxy.close());

  const none = await ask(port, "x");
  assert.equal(none.answer, "closed", "no endpoints: the connection is closed");
  assert.equal(proxy.stats.refused, 1);

  proxy.setTargets([{ key: "a", address: "127.0.0.1", port: a.port }, { key: "dead", address: "127.0.0.1", port: dead.port }, { key: "b", address: "127.0.0.1", port: b.port }]);
  const answers: string[] = [];
  const open: net.Socket[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await ask(port, "hi");
    answers.push(r.answer);
    open.push(r.sock);
  }
  assert.deepEqual(answers.filter((x) => x === "a:hi").length, 3, answers.join(","));
  assert.deepEqual(answers.filter((x) => x === "b:hi").length, 3, answers.join(","));
  assert.ok(proxy.stats.connectFailures >= 2, `the dead endpoint was tried and skipped: ${JSON.stringify(proxy.stats)}`);

  // Dropping "a" cuts its connections at once; "b"'s stay and new ones all go to b.
  const closed = open.filter((_, i) => answers[i] === "a:hi").map((s) => new Promise<void>((r) => { s.once("end", () => r()); s.once("close", () => r()); }));
  proxy.setTargets([{ key: "b", address: "127.0.0.1", port: b.port }]);
  await Promise.all(closed);
  assert.equal(proxy.stats.cut, 3);
  assert.equal(open.filter((s, i) => answers[i] === "b:hi" && s.readable).length, 3);
  assert.equal((await ask(port, "again")).answer, "b:again");
  // A client that sends and shuts its side still gets the answer.
  assert.equal((await ask(port, "half", true)).answer, "b:half");
  for (const s of open) s.destroy();
});
