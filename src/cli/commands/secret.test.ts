// `tiffin secret` as users run it: bin/tiffin.js processes (the value piped into stdin or read from
// --file) against a real server (SQLite file in a temp dir).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { cliWithServer, tiffinBin } from "../real-cli.ts";
import type { CliRun } from "../real-cli.ts";
import { ApiClient } from "../../api/client.ts";

/** `tiffin ARGV` with `input` on its stdin. */
function runWithInput(env: Record<string, string>, cwd: string, argv: string[], input: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tiffinBin, ...argv], { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, out, err }));
    child.stdin.end(input);
  });
}

void test("secret set (stdin, --file), list, rm; sealed in the SQLite file; the secrets capability; audited without the value", async (t) => {
  const { root, server, run } = await cliWithServer(t, "secret");
  const env = { PATH: process.env["PATH"] ?? "", HOME: root, TIFFIN_ADDR: server.url, TIFFIN_TOKEN: server.adminToken };
  const api = new ApiClient({ addr: server.url, token: server.adminToken });
  const plain = "s3cr3t-Pa55word-zebra";

  // The CLI: stdin, --file, list, rm (each a process: a few, the rest through the client).
  const set = await runWithInput(env, root, ["secret", "set", "default/db"], `${plain}\n`);
  assert.equal(set.code, 0, set.err);
  assert.equal(set.out, `secret default/db set (version 1, ${plain.length + 1} bytes)\n`);
  fs.writeFileSync(path.join(root, "api.txt"), "api-key-value-quokka");
  assert.equal((await run("secret", "set", "api", "--file", "api.txt")).out, "secret default/api set (version 1, 20 bytes)\n");
  assert.equal((await api.setSecret("default", "db", Buffer.from(plain))).version, 2);
  const list = await run("secret", "list");
  assert.match(list.out, /^NAME +VERSION +UPDATED +UPDATED BY\ndefault\/api +1 +\S.* +admin\ndefault\/db +2 +.* +admin\n$/);
  assert.deepEqual((await api.secrets()).map((s) => [s.name, s.version, Object.keys(s).includes("sealed")]), [["api", 1, false], ["db", 2, false]]);

  // Bad names, another namespace: refused, nothing stored.
  await assert.rejects(api.setSecret("default", "a b", Buffer.from("x")), /TIFFIN_BAD_REQUEST|the name "a b" is not/);
  await assert.rejects(api.setSecret("team", "x", Buffer.from("x")), /secret team\/x: there is only the namespace "default" yet/);

  // A token needs `secrets` on the namespace: read and write are not enough.
  const reader = await api.createToken({ name: "reader", policy: ["ns/default=read,write"] });
  const keeper = await api.createToken({ name: "keeper", policy: ["ns/default=secrets"] });
  await assert.rejects(new ApiClient({ addr: server.url, token: reader.secret }).setSecret("default", "db", Buffer.from("x")), /PUT \/v1\/secrets\/default\/db needs secrets on ns\/default; token \S+ \("reader"\) lacks it/);
  await assert.rejects(new ApiClient({ addr: server.url, token: reader.secret }).secrets(), /needs secrets on ns\/default/);
  assert.equal((await new ApiClient({ addr: server.url, token: keeper.secret }).setSecret("default", "db", Buffer.from(`${plain}!`))).version, 3);
  // The same value again is no new version (nothing would restart).
  assert.equal((await api.setSecret("default", "db", Buffer.from(`${plain}!`))).version, 3);

  assert.equal((await run("secret", "rm", "default/api")).out, "secret default/api removed\n");
  await assert.rejects(api.removeSecret("default", "api"), /secret default\/api not found/);

  const audit = JSON.stringify(await api.audit(100));
  assert.match(audit, /set secret default\/db \(version 1\)/);
  assert.match(audit, /set secret default\/db \(version 3\)/);
  assert.match(audit, /set secret default\/db: unchanged \(version 3\)/);
  assert.match(audit, /removed secret default\/api \(version 1\)/);
  assert.match(audit, /"path":"\/v1\/secrets\/default\/db","status":403/);

  // At rest: the key apart from the state, owner-only; no value in clear in the SQLite files.
  const dataDir = path.join(root, "server");
  assert.equal(fs.statSync(path.join(dataDir, "secrets.key")).mode & 0o777, 0o600);
  for (const f of fs.readdirSync(dataDir)) {
    const bytes = fs.readFileSync(path.join(dataDir, f));
    for (const needle of [plain, "api-key-value-quokka", Buffer.from(plain).toString("base64").slice(0, 12)]) assert.ok(!bytes.includes(needle), `${needle} in ${f}`);
  }
  for (const r of [set, list]) assert.ok(!(r.out + r.err).includes(plain));
  assert.ok(!audit.includes(plain));
});
