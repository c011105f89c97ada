// The core client is browser-safe: esbuild bundles ./index.ts for the browser platform with nothing
// from node, and the bundle works on web APIs alone (fetch, streams, TextDecoder, AbortController).

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { build } from "esbuild";
import type { Plugin } from "esbuild";
import { startFakeApi } from "./fake.ts";
import type * as Core from "./index.ts";

/** Records every `node:` or bare node builtin import instead of letting esbuild resolve it. */
function nodeImports(seen: string[]): Plugin {
  return {
    name: "node-imports",
    setup(b) {
      b.onResolve({ filter: /^(node:|(fs|http|https|net|stream|crypto|os|path|child_process|tty|url|util|zlib|events|buffer)$)/ }, (args) => {
        seen.push(`${args.path} (from ${args.importer})`);
        return { path: args.path, external: true };
      });
    },
  };
}

async function bundle(entry: string): Promise<{ text: string; nodeImports: string[] }> {
  const seen: string[] = [];
  const out = await build({ entryPoints: [join(import.meta.dirname, entry)], bundle: true, platform: "browser", format: "esm", write: false, logLevel: "silent", plugins: [nodeImports(seen)] });
  return { text: out.outputFiles[0]?.text ?? "", nodeImports: seen };
}

void test("esbuild bundles the core client for the browser with no node import", async () => {
  const core = await bundle("index.ts");
  assert.deepEqual(core.nodeImports, []);
  assert.match(core.text, /ApiClient = class/, "the client is in the bundle");
  // The check is not vacuous: the node half does pull node in.
  const node = await bundle("node.ts");
  assert.ok(node.nodeImports.some((i) => i.startsWith("node:http")), node.nodeImports.join(", "));
});

void test("the browser bundle runs: a call and a typed watch over fetch", async (t) => {
  const api = await startFakeApi({
    "GET /v1/jobs": { body: [{ name: "web", version: 1, replicas: 1, placed: 1, running: 1, healthy: 1, removed: false }] },
    "GET /v1/cluster": { body: { self: { id: "s" } } },
    "GET /v1/watch": (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('event: added\ndata: {"type":"added","kind":"job","name":"web","revision":2,"object":{"name":"web","version":1,"removedAt":null,"updatedAt":1}}\n\nevent: bookmark\nid: 2\ndata: {"type":"bookmark","revision":2}\n\n');
    },
  });
  t.after(() => api.close());
  const { text } = await bundle("index.ts");
  const mod = (await import(`data:text/javascript;base64,${Buffer.from(text).toString("base64")}`)) as typeof Core;
  const client = new mod.ApiClient({ addr: api.url, token: "t" });
  assert.deepEqual(await client.jobs(), [{ name: "web", version: 1, replicas: 1, placed: 1, running: 1, healthy: 1, removed: false }]);
  // The answer's schema is in the bundle too: a wrong shape is refused there as in node.
  await assert.rejects(new mod.ApiClient({ addr: api.url, token: "t" }).cluster(), { code: "TIFFIN_BAD_ANSWER" });
  const got: string[] = [];
  for await (const m of client.watch({ kinds: ["job"] })) {
    got.push(m.type);
    if (m.type === "bookmark") break;
  }
  assert.deepEqual(got, ["added", "bookmark"]);
});
