import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { SseParser } from "./sse.ts";
import { nextBackoff, watchSse } from "./sse-watch.ts";
import type { SseEvent } from "./sse.ts";

const cases: { name: string; chunks: string[]; want: SseEvent[] }[] = [
  { name: "one event", chunks: ["event: assignments\ndata: []\n\n"], want: [{ event: "assignments", data: "[]", id: null }] },
  { name: "default event name", chunks: ["data: x\n\n"], want: [{ event: "message", data: "x", id: null }] },
  { name: "multi-line data joined by LF", chunks: ["data: a\ndata: b\ndata:c\n\n"], want: [{ event: "message", data: "a\nb\nc", id: null }] },
  { name: "CRLF line ends", chunks: ["event: e\r\ndata: 1\r\n\r\n"], want: [{ event: "e", data: "1", id: null }] },
  { name: "CR line ends (a final CR waits for a possible LF)", chunks: ["event: e\rdata: 1\r\rdata: 2\r\r"], want: [{ event: "e", data: "1", id: null }] },
  { name: "CRLF split across chunks", chunks: ["data: 1\r", "\n\r", "\n"], want: [{ event: "message", data: "1", id: null }] },
  { name: "event split mid-line", chunks: ["ev", "ent: assi", "gnments\nda", "ta: [1,", "2]\n", "\n"], want: [{ event: "assignments", data: "[1,2]", id: null }] },
  { name: "comments ignored", chunks: [": keepalive\n\n: hi\ndata: z\n\n"], want: [{ event: "message", data: "z", id: null }] },
  { name: "no data: nothing dispatched, event name reset", chunks: ["event: a\n\ndata: q\n\n"], want: [{ event: "message", data: "q", id: null }] },
  { name: "field without colon is empty data", chunks: ["data\n\n"], want: [{ event: "message", data: "", id: null }] },
  { name: "only one leading space stripped", chunks: ["data:  two\n\n"], want: [{ event: "message", data: " two", id: null }] },
  { name: "id carried over", chunks: ["id: 7\ndata: a\n\ndata: b\n\n"], want: [{ event: "message", data: "a", id: "7" }, { event: "message", data: "b", id: "7" }] },
  { name: "BOM stripped", chunks: ["\ufeffdata: a\n\n"], want: [{ event: "message", data: "a", id: null }] },
  { name: "unterminated event not dispatched", chunks: ["data: a\n"], want: [] },
  { name: "unknown fields ignored", chunks: ["retry: 10\nfoo: bar\ndata: a\n\n"], want: [{ event: "message", data: "a", id: null }] },
];

for (const c of cases) {
  void test(`SseParser: ${c.name}`, () => {
    const p = new SseParser();
    const got = c.chunks.flatMap((ch) => p.feed(ch));
    assert.deepEqual(got, c.want);
  });
}

void test("SseParser: a large event in small chunks costs its length, not its length squared", () => {
  // An agent's assignment set of thousands of attempts is one data line of megabytes, read in chunks of
  // 16 KiB: rescanning the pending line from its start on every chunk took about a minute for this.
  const data = "x".repeat(8 * 1024 * 1024);
  const text = `event: assignments\ndata: ${data}\n\n`;
  const p = new SseParser();
  const started = performance.now();
  const got: SseEvent[] = [];
  for (let i = 0; i < text.length; i += 16_384) got.push(...p.feed(text.slice(i, i + 16_384)));
  const ms = performance.now() - started;
  assert.equal(got.length, 1);
  assert.equal(got[0]?.data.length, data.length);
  assert.ok(ms < 2000, `parsed in ${ms.toFixed(0)} ms`);
});

void test("nextBackoff doubles up to the cap", () => {
  const seq: number[] = [];
  let d: number | null = null;
  for (let i = 0; i < 7; i++) seq.push((d = nextBackoff(d, 100, 1000)));
  assert.deepEqual(seq, [100, 200, 400, 800, 1000, 1000, 1000]);
});

void test("watchSse reconnects after the stream ends and after an error status, sending fresh headers", async (t) => {
  let n = 0;
  const seenAuth: string[] = [];
  const server = http.createServer((req, res) => {
    n++;
    seenAuth.push(String(req.headers.authorization));
    if (n === 2) {
      res.writeHead(503).end("busy");
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`event: assignments\ndata: [${n}]\n\n`);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const events: string[] = [];
  const errors: (number | null)[] = [];
  let token = 0;
  const done = new Promise<void>((resolve) => {
    const w = watchSse({
      url,
      headers: () => ({ authorization: `t${token++}` }),
      onEvent: (ev) => {
        events.push(ev.data);
        if (events.length === 2) {
          w.close();
          resolve();
        }
      },
      onError: (e) => errors.push(e.status),
      backoffInitialMs: 20,
      backoffMaxMs: 50,
    });
  });
  await done;
  assert.deepEqual(events, ["[1]", "[3]"]);
  assert.deepEqual(errors, [200, 503]);
  assert.deepEqual(seenAuth, ["t0", "t1", "t2"]);
});
