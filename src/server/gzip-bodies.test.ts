// Request bodies sent gzip-compressed (`Content-Encoding: gzip`, as agents send their metrics
// reports): read like plain ones; a body that decompresses past the 1 MiB limit (a gzip bomb) is a
// 413 without inflating it all, a broken one a 400 saying so, an unknown coding a 400 naming it. The
// metrics route answers `Accept-Encoding: gzip` so agents know they may compress (RFC 7694).
import { test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import type { ApiErrorBody } from "../api/types.ts";
import { FakeAgent, startTestServer } from "./testing/harness.ts";

void test("gzip request bodies: accepted, bombs and broken ones refused, and the metrics route says it takes them", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, joinToken } = ts.server;
  const agent = new FakeAgent(url, "alpha");
  const reg = await agent.register(joinToken);
  const post = (body: Buffer | string, encoding: string | null): Promise<Response> =>
    fetch(`${url}/v1/agent/metrics`, { method: "POST", headers: { authorization: `Bearer ${reg.hostToken}`, "content-type": "application/json", ...(encoding ? { "content-encoding": encoding } : {}) }, body });
  const report = JSON.stringify({ hostId: reg.hostId, tasks: [] });

  const plain = await post(report, null);
  assert.equal(plain.status, 200, await plain.text());
  assert.equal(plain.headers.get("accept-encoding"), "gzip", "the answer says gzip bodies are welcome");
  const zipped = await post(gzipSync(report), "gzip");
  assert.equal(zipped.status, 200, await zipped.text());

  const error = async (res: Response): Promise<[number, string, string]> => {
    const e = ((await res.json()) as ApiErrorBody).error;
    return [res.status, e.code, e.message];
  };
  const bomb = gzipSync(Buffer.alloc(64 << 20, 0x20)); // 64 MiB of spaces in about 64 KiB
  const started = Date.now();
  const [status, code, message] = await error(await post(bomb, "gzip"));
  assert.deepEqual([status, code], [413, "TIFFIN_TOO_LARGE"], message);
  assert.ok(Date.now() - started < 5000, "refused without inflating 64 MiB");
  const [s2, c2, m2] = await error(await post(Buffer.from("not gzip at all"), "gzip"));
  assert.deepEqual([s2, c2], [400, "TIFFIN_BAD_REQUEST"]);
  assert.match(m2, /gzip/);
  const [s3, c3, m3] = await error(await post(report, "br"));
  assert.deepEqual([s3, c3], [400, "TIFFIN_BAD_REQUEST"]);
  assert.match(m3, /"br"/);
});
