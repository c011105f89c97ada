// CLI habits of kubectl/nomad users, through the real argv: `tiffin version` (client and server),
// `tiffin help CMD` exits 0, a malformed --addr is a usage error (exit 2, never "a bug in tiffin").
// The process runs are bin/tiffin.js as a user types it; the rest is `main(argv)` as bin calls it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { startServer } from "../server/main.ts";
import { addrProblem } from "./context.ts";
import { memoryIo } from "./io.ts";
import { main } from "./main.ts";

const bin = path.join(import.meta.dirname, "..", "..", "bin", "tiffin.js");
const version = (JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "..", "..", "package.json"), "utf8")) as { version: string }).version;

async function tiffin(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo(env);
  const code = await main(argv, io);
  return { code, out: io.stdout, err: io.stderr };
}

/** `tiffin ...argv` as a process, with a HOME of its own. */
function run(home: string, ...argv: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...argv], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", HOME: home, NODE_OPTIONS: process.env["NODE_OPTIONS"] ?? "" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

void test("addrProblem: which server addresses are usable", () => {
  const cases: [string, boolean][] = [
    ["http://127.0.0.1:7070", true],
    ["https://tiffin.example.com", true],
    ["http://[::1]:7070", true],
    ["http://lb.example.com/tiffin", true],
    ["http:", false],
    ["http://foo bar", false],
    ["http://a:99999", false],
    ["http://[bad", false],
    ["ftp://a:1", false],
    ["http://user:pw@a:1", false],
    ["http://a:1/?x=1", false],
  ];
  for (const [addr, ok] of cases) assert.equal(addrProblem(addr) === null, ok, addr);
});

void test("tiffin version prints the client's and the server's version; --client needs no server", async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-cli-habits-"));
  const server = await startServer({ dataDir: path.join(root, "server"), listen: "127.0.0.1:0", log: "silent" });
  t.after(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const env = { HOME: root, TIFFIN_ADDR: server.url, TIFFIN_TOKEN: server.adminToken };
  const v = await tiffin(env, "version");
  assert.equal(v.code, 0, v.err);
  assert.equal(v.out, `client  ${version}\nserver  ${version} (at ${server.url})\n`);
  const j = await tiffin(env, "version", "--json");
  assert.deepEqual(JSON.parse(j.out), { client: version, server: { version, url: server.url } });

  // No server: the client's version still prints, the failure is said, exit 1.
  const down = run(root, "--addr", "http://127.0.0.1:1", "version");
  assert.equal(down.code, 1, down.err);
  assert.equal(down.out, `client  ${version}\n`);
  assert.match(down.err, /TIFFIN_UNAVAILABLE/);
  const client = run(root, "--addr", "http://127.0.0.1:1", "version", "--client");
  assert.equal(client.code, 0, client.err);
  assert.equal(client.out, `client  ${version}\n`);
});

void test("tiffin help CMD exits 0; help for nothing or an unknown command is a usage error", () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-cli-help-"));
  try {
    for (const argv of [["help", "hosts"], ["help", "version"], ["hosts", "--help"], ["help"], ["pkg", "help", "push"]]) {
      const r = run(home, ...argv);
      assert.equal(r.code, 0, `tiffin ${argv.join(" ")}: ${r.err}`);
      assert.match(r.out, /Usage: tiffin/, argv.join(" "));
    }
    const unknown = run(home, "help", "nosuch");
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /error\[TIFFIN_USAGE\]: unknown command 'nosuch'/);
    assert.equal(run(home).code, 2, "tiffin with no command");
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});

void test("a malformed --addr or TIFFIN_ADDR is a usage error (exit 2) naming it, never a bug in tiffin", async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-cli-addr-"));
  try {
    for (const addr of ["http://[bad", "foo bar", "http://a:99999", "http://", "ftp://a:1"]) {
      const r = run(home, "--addr", addr, "hosts");
      assert.equal(r.code, 2, `--addr ${addr}: ${r.err}`);
      assert.match(r.err, /^error\[TIFFIN_USAGE\]: server address ".*" from --addr cannot be used/, addr);
      assert.doesNotMatch(r.err, /bug in tiffin/, addr);
    }
    const env = await tiffin({ HOME: home, TIFFIN_ADDR: "http://ok:1,http://[bad" }, "jobs");
    assert.equal(env.code, 2);
    assert.match(env.err, /from TIFFIN_ADDR cannot be used/);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});

void test("tiffin agent --advertise with an address no one can dial is a usage error (exit 2) saying what to give", () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-habits-adv-"));
  try {
    const r = run(home, "agent", "--server", "http://127.0.0.1:1", "--join-token", "x", "--data", path.join(home, "agent"), "--name", "a", "--advertise", "0.0.0.0:7071");
    assert.equal(r.code, 2, `${r.out}${r.err}`);
    assert.match(r.err, /^error\[TIFFIN_USAGE\]: cannot advertise "0\.0\.0\.0:7071": not an address others can dial\nhint: give host or host:port/m);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
