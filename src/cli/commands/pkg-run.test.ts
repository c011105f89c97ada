// `tiffin pkg run` as a user runs it (bin/tiffin.js in a child process) against a real server in this
// process: fetch on first run, exit code and arguments passed through, then from the cache with the
// server gone (versions and ids; a tag by its last resolution).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ApiClient } from "../../api/client.ts";
import { PieceStore, removeTree } from "../../pkg/index.ts";
import { startServer } from "../../server/main.ts";
import { pkgPushHandler } from "./pkg.ts";

const bin = path.join(import.meta.dirname, "..", "..", "..", "bin", "tiffin.js");

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env["PATH"] ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
    p.on("error", reject);
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

void test("pkg run fetches, runs the entry point with args and exit code, then runs from the cache without the server", async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-pkg-run-"));
  let server: Awaited<ReturnType<typeof startServer>> | null = await startServer({ dataDir: path.join(root, "server"), listen: "127.0.0.1:0", log: "silent" });
  t.after(async () => {
    await server?.close();
    await removeTree(root);
  });
  const api = new ApiClient({ addr: server.url, token: server.adminToken });
  const dir = path.join(root, "tool");
  fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
  fs.writeFileSync(path.join(dir, "bin", "tool"), '#!/bin/sh\necho "args=$#:$1:$2 pkg=$TIFFIN_PKG_TOOL"\nexit 7\n', { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "bin", "other"), "#!/bin/sh\necho other\n", { mode: 0o755 });
  const store = new PieceStore(path.join(root, "build"));
  const pushed = await pkgPushHandler(api, { dir, name: "tool", version: "1", entrypoint: "bin/tool", store });
  await pkgPushHandler(api, { dir, name: "plain", version: "1", store });
  await api.tagPackage("tool", "stable", "1");
  const id = pushed.package.id;
  const cache = path.join(root, "cache");
  const env = { HOME: root, TIFFIN_PKG_CACHE: cache, TIFFIN_ADDR: server.url, TIFFIN_TOKEN: server.adminToken };

  const first = await run(["pkg", "run", "tool:1", "--", "a", "b c"], env);
  assert.equal(first.code, 7, first.err);
  assert.equal(first.out, `args=2:a:b c pkg=${path.join(cache, "trees", id)}\n`);
  assert.ok(fs.existsSync(path.join(cache, "trees", id, "bin", "tool")), "unpacked into the cache");

  const tagged = await run(["pkg", "run", "tool:stable", "--", "x"], env);
  assert.equal(tagged.code, 7, tagged.err);
  const other = await run(["pkg", "run", "--entry", "bin/other", "tool:1"], env);
  assert.equal(other.out, "other\n", other.err);
  const noEntry = await run(["pkg", "run", "plain:1"], env);
  assert.notEqual(noEntry.code, 0);
  assert.match(noEntry.err, /no entry point[\s\S]*--entrypoint/);
  const unknown = await run(["pkg", "run", "tool:9"], env);
  assert.match(unknown.err, /no version or tag "9"/);

  await server.close();
  server = null;
  for (const ref of ["tool:1", id]) {
    const cached = await run(["pkg", "run", ref, "--", "z"], env);
    assert.equal(cached.code, 7, `${ref}: ${cached.err}`);
    assert.equal(cached.out, `args=1:z: pkg=${path.join(cache, "trees", id)}\n`);
  }
  const slow = await run(["pkg", "run", "tool:1", "--verify"], env);
  assert.equal(slow.code, 7, `the full CLI path, re-hashing the tree: ${slow.err}`);
  const stale = await run(["pkg", "run", "tool:stable"], env);
  assert.equal(stale.code, 7, stale.err);
  assert.match(stale.err, /server unreachable; running tool:stable as last resolved/);
});
