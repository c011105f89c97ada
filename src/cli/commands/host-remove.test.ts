// `tiffin hosts remove` through the real CLI against a real server (SQLite, loopback, a clock the
// test moves): refused while the host is up, then the record and its token are gone.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { RegisterResponse } from "../../api/types.ts";
import { ManualClock } from "../../model/index.ts";
import { startServer } from "../../server/main.ts";
import { memoryIo } from "../io.ts";
import { main } from "../main.ts";

void test("tiffin hosts remove: refused while the host is up, then the name may register anew", async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-cli-hosts-"));
  const clock = new ManualClock();
  const server = await startServer({ dataDir: root, listen: "127.0.0.1:0", log: "silent", clock });
  t.after(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const inventory = { name: "alpha", address: "127.0.0.1:9", cores: 1, memoryMiB: 1024, diskMiB: 1024, os: { id: "linux", version: "0" }, kernel: "x", runtime: "none", labels: {} };
  const register = async (): Promise<{ status: number; body: RegisterResponse }> => {
    const r = await fetch(`${server.url}/v1/agent/register`, { method: "POST", headers: { authorization: `Bearer ${server.joinToken}`, "content-type": "application/json" }, body: JSON.stringify({ inventory }) });
    return { status: r.status, body: (await r.json()) as RegisterResponse };
  };
  const first = await register();
  assert.equal(first.status, 200);
  assert.equal((await register()).status, 409, "the name is taken without its token");
  const cli = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    const io = memoryIo({});
    const code = await main(["--addr", server.url, "--token", server.adminToken, ...argv], io);
    return { code, out: io.stdout, err: io.stderr };
  };

  const refused = await cli("hosts", "remove", "alpha");
  assert.notEqual(refused.code, 0);
  assert.match(refused.err, /TIFFIN_CONFLICT[\s\S]*host alpha is up[\s\S]*tiffin drain alpha/);
  assert.match((await cli("hosts")).out, /alpha/, "`tiffin hosts` still lists");

  for (let i = 0; i < 30; i++) {
    clock.advance(250);
    await new Promise((r) => setTimeout(r, 5));
  }
  const deadline = Date.now() + 10_000;
  let removed = await cli("hosts", "remove", "alpha", "--json");
  while (removed.code !== 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    removed = await cli("hosts", "remove", "alpha", "--json");
  }
  assert.equal(removed.code, 0, removed.err);
  assert.deepEqual(JSON.parse(removed.out), { id: first.body.hostId, name: "alpha", removed: true });
  assert.match((await cli("hosts")).out, /no hosts yet/);
  const again = await register();
  assert.equal(again.status, 200, "a re-provisioned machine registers without the old token");
  assert.notEqual(again.body.hostToken, first.body.hostToken);
});
