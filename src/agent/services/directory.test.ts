// The agent's registry view against a real HTTP server speaking the watch's SSE: it lists, then
// resumes a dropped stream from the revision after the last one applied (not the last event's, when
// a revision's events are cut short), lists again after a 410, and holds a service as "not known"
// until its list completes.
import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import pino from "pino";
import type { Endpoint } from "../../model/index.ts";
import { ServiceDirectory } from "./directory.ts";

const ep = (index: number, port: number): Endpoint => ({
  service: "cache", job: "cache", index, version: 1, attemptId: `a${index}-${port}`, hostId: "h", host: "h", address: "127.0.0.1",
  ports: [{ name: "redis", port }], state: "healthy", labels: {}, since: 0,
});
const frame = (event: string, data: unknown, id?: number): string => `event: ${event}\n${id !== undefined ? `id: ${id}\n` : ""}data: ${JSON.stringify(data)}\n\n`;
const added = (e: Endpoint, revision: number, id?: number): string => frame("added", { type: "added", kind: "endpoint", name: `cache/${e.index}`, revision, object: e }, id);
const removed = (e: Endpoint, revision: number, id?: number): string => frame("removed", { type: "removed", kind: "endpoint", name: `cache/${e.index}`, revision, object: e }, id);

void test("service directory: list, resume from the last whole revision, relist after 410", async (t) => {
  const urls: string[] = [];
  // What each connection gets, in order; a connection ends after its frames.
  const scripts: ((res: http.ServerResponse) => void)[] = [
    (res) => res.end(added(ep(0, 100), 5) + added(ep(1, 101), 7) + frame("bookmark", { type: "bookmark", revision: 10 }, 10)),
    // Revision 11 removes cache/0 (id on its only event); revision 12's two events are cut after the first.
    (res) => res.end(removed(ep(0, 100), 11, 11) + added(ep(2, 102), 12)),
    (res) => { res.statusCode = 410; res.end(JSON.stringify({ error: { code: "TIFFIN_WATCH_EXPIRED", message: "gone", hint: "", problems: [] }, compactRevision: 50 })); },
    (res) => res.write(added(ep(2, 102), 60) + added(ep(3, 103), 60) + frame("bookmark", { type: "bookmark", revision: 60 }, 60)),
  ];
  const server = http.createServer((req, res) => {
    urls.push(req.url ?? "");
    res.setHeader("content-type", "text/event-stream");
    const script = scripts.shift();
    if (script) script(res);
    else res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  const changes: string[][] = [];
  const dir = new ServiceDirectory({ baseUrl: () => base, token: () => "tok", log: pino({ level: "silent" }), onChange: (s) => changes.push([...s]) });
  t.after(() => {
    dir.close();
    server.closeAllConnections();
    server.close();
  });
  assert.equal(dir.endpoints("cache"), null, "not known before following");
  dir.follow(new Set(["cache"]));
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(ok(), what);
  };
  await until("the last list", () => dir.endpoints("cache")?.map((e) => e.index).join(",") === "2,3");
  assert.deepEqual(urls, [
    "/v1/agent/endpoints?service=cache",
    "/v1/agent/endpoints?service=cache&from=11",
    // Revision 12 was cut short (no id came): resume at 12, not 13, so its other event is not lost.
    "/v1/agent/endpoints?service=cache&from=12",
    // 410: list again.
    "/v1/agent/endpoints?service=cache",
  ]);
  assert.equal(dir.revision, 60);
  assert.ok(changes.length >= 2);
});
