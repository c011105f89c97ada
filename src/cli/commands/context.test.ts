// `tiffin context list|use|add|remove` and `--context` through bin/tiffin.js as processes, with a
// HOME of their own, against a real server (its admin.token file, as a user would copy it).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { startServer } from "../../server/main.ts";
import { runTiffin } from "../../api/run-tiffin.ts";
import type { CliRun } from "../../api/run-tiffin.ts";

function run(home: string, ...argv: string[]): Promise<CliRun> {
  return runTiffin(argv, { env: { PATH: process.env["PATH"] ?? "", HOME: home } });
}

void test("named contexts: add, list, use, --context, remove", async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-contexts-"));
  const home = path.join(root, "home");
  fs.mkdirSync(home);
  const server = await startServer({ dataDir: path.join(root, "server"), listen: "127.0.0.1:0", log: "silent" });
  t.after(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const tokenFile = path.join(root, "server", "admin.token");

  let r = await run(home, "context", "list");
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^no contexts: add one with `tiffin context add/);

  r = await run(home, "context", "add", "prod", "--server", server.url, "--token-file", tokenFile);
  assert.equal(r.code, 0, r.err);
  assert.equal((fs.statSync(path.join(home, ".tiffin", "contexts.json")).mode & 0o777).toString(8), "600", "it holds admin tokens");
  r = await run(home, "context", "add", "wrong", "--server", server.url, "--token", "not-the-token");
  assert.equal(r.code, 0, r.err);
  r = await run(home, "context", "add", "bad", "--server", "http://[bad", "--token", "x");
  assert.equal(r.code, 2);
  assert.match(r.err, /^error\[TIFFIN_USAGE\]: server address "http:\/\/\[bad" from --server cannot be used/);

  r = await run(home, "context", "list");
  assert.equal(r.out, `CURRENT  NAME   ADDR\n-        prod   ${server.url}\n-        wrong  ${server.url}\n`);
  r = await run(home, "jobs");
  assert.equal(r.code, 1, "no current context: the default address, where nothing listens");

  r = await run(home, "context", "use", "prod");
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `using context prod (${server.url})\n`);
  r = await run(home, "context", "list", "--json");
  assert.deepEqual(JSON.parse(r.out), [{ name: "prod", addr: server.url, current: true, namespace: "default" }, { name: "wrong", addr: server.url, current: false, namespace: "default" }]);
  r = await run(home, "jobs");
  assert.equal(r.code, 0, r.err);

  // --context picks another one for one command only.
  r = await run(home, "--context", "wrong", "jobs");
  assert.equal(r.code, 1);
  assert.match(r.err, /TIFFIN_UNAUTHORIZED/);
  r = await run(home, "--context", "nope", "jobs");
  assert.equal(r.code, 2);
  assert.match(r.err, /^error\[TIFFIN_USAGE\]: no context named "nope" in .*contexts\.json\nhint: known contexts: prod, wrong;/);
  r = await run(home, "context", "use", "nope");
  assert.equal(r.code, 2);

  r = await run(home, "context", "remove", "prod");
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /context prod removed; it was current/);
  r = await run(home, "context", "list");
  assert.equal(r.out, `CURRENT  NAME   ADDR\n-        wrong  ${server.url}\n`);
});
