// The dashboard's files at /ui: which path is which file (a table), then a real server answering
// them without a token, with the right types, caching and policy, while every API call still needs one.

import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { uiAnswerOf, UiRoot } from "./ui-static.ts";
import { startTestServer } from "../testing/harness.ts";
import { ensureUiBuilt } from "../testing/ui-built.ts";

void test("uiAnswerOf: pages get index.html, hashed assets are immutable, nothing climbs out of the root", () => {
  const root = "/srv/ui";
  const cases: { name: string; path: string; want: ReturnType<typeof uiAnswerOf> }[] = [
    { name: "no slash", path: "/ui", want: { kind: "redirect", location: "/ui/" } },
    { name: "the page", path: "/ui/", want: { kind: "file", file: "/srv/ui/index.html", type: "text/html; charset=utf-8", cache: "no-cache" } },
    { name: "an app route", path: "/ui/jobs/web", want: { kind: "file", file: "/srv/ui/index.html", type: "text/html; charset=utf-8", cache: "no-cache" } },
    { name: "hashed script", path: "/ui/assets/index-AB12.js", want: { kind: "file", file: "/srv/ui/assets/index-AB12.js", type: "text/javascript; charset=utf-8", cache: "public, max-age=31536000, immutable" } },
    { name: "stylesheet", path: "/ui/assets/index-AB12.css", want: { kind: "file", file: "/srv/ui/assets/index-AB12.css", type: "text/css; charset=utf-8", cache: "public, max-age=31536000, immutable" } },
    { name: "an unhashed file", path: "/ui/favicon.ico", want: { kind: "file", file: "/srv/ui/favicon.ico", type: "image/x-icon", cache: "no-cache" } },
    { name: "dot dot", path: "/ui/../admin.token", want: { kind: "none" } },
    { name: "encoded dot dot", path: "/ui/%2e%2e/admin.token", want: { kind: "none" } },
    { name: "encoded slash and dot dot", path: "/ui/assets%2f..%2f..%2fstate.db", want: { kind: "none" } },
    { name: "dot file", path: "/ui/.env", want: { kind: "none" } },
    { name: "backslash", path: "/ui/..%5c..%5cadmin.token", want: { kind: "none" } },
    { name: "bad escape", path: "/ui/%E0%A4%A.js", want: { kind: "none" } },
    { name: "unknown type", path: "/ui/assets/x.exe", want: { kind: "none" } },
    { name: "not the ui", path: "/uix", want: { kind: "none" } },
  ];
  for (const c of cases) assert.deepEqual(uiAnswerOf(c.path, root), c.want, c.name);
});

void test("tiffin server serves the dashboard at /ui without a token, and the API still needs one", async (t) => {
  ensureUiBuilt();
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url } = ts.server;

  const page = await fetch(`${url}/ui/`);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(page.headers.get("cache-control"), "no-cache");
  assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  assert.equal(page.headers.get("x-content-type-options"), "nosniff");
  const html = await page.text();
  const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(script, `the page loads its script from /ui/assets: ${html}`);
  assert.doesNotMatch(html, /https?:\/\//, "nothing from another origin (no CDN)");

  const js = await fetch(`${url}${script}`);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.equal(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
  const etag = js.headers.get("etag");
  assert.ok(etag);
  await js.arrayBuffer();
  const again = await fetch(`${url}${script}`, { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304);

  const redirect = await fetch(`${url}/ui`, { redirect: "manual" });
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.get("location"), "/ui/");

  const deepLink = await fetch(`${url}/ui/jobs/web`);
  assert.equal(deepLink.status, 200, "an app route is the page");

  // Sent as written (fetch would resolve the dots itself). Dots the URL parser resolves leave /ui and
  // meet the API's token check (401); the rest are not found under /ui.
  for (const [p, status] of [["/ui/../admin.token", 401], ["/ui/%2e%2e/admin.token", 401], ["/ui/..%2fadmin.token", 404], ["/ui/assets%2f..%2f..%2f..%2fpackage.json", 404], ["/ui/assets/missing-123.js", 404]] as const) {
    const res = await rawGet(url, p);
    assert.equal(res.status, status, p);
    assert.doesNotMatch(res.body, /[0-9a-f]{32}/, `${p}: no token in the answer`);
  }
  const post = await fetch(`${url}/ui/`, { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");

  // The files need no token; the data does.
  assert.equal((await fetch(`${url}/v1/hosts`)).status, 401);
  assert.equal((await fetch(`${url}/v1/hosts`, { headers: { authorization: "Bearer wrong" } })).status, 401);
  assert.ok(readdirSync(join(UiRoot, "assets")).length > 0);
});

function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}
