// mTLS from the CLI's side (issue 17), through the real argv of bin/tiffin.js against a real server
// with TLS on (loopback, as --tls): `tiffin context add --ca-hash` pins the cluster CA only when the
// server presents it (a wrong hash is refused before the token is sent, and nothing is saved), and
// commands then speak HTTPS trusting that CA alone. Plus the table of `tiffin server`'s TLS flags.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { startServer } from "../../server/main.ts";
import { tiffinBin } from "../real-cli.ts";
import type { CliRun } from "../real-cli.ts";
import { parseTlsFlags } from "./tls-flags.ts";

void test("tiffin context add --ca-hash: a wrong hash refused, nothing saved; the right one pinned, and commands speak HTTPS with it", { timeout: 60_000 }, async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-tls-context-"));
  const server = await startServer({ dataDir: path.join(root, "server"), listen: "127.0.0.1:0", log: "silent", tls: { on: true } });
  t.after(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  assert.ok(server.ca !== null && server.url.startsWith("https://"));
  const run = async (...argv: string[]): Promise<CliRun> => {
    try {
      const r = await promisify(execFile)(process.execPath, [tiffinBin, ...argv], { cwd: root, encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", HOME: root } });
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout, err: e.stderr };
    }
  };
  // tiffin dev serves plain HTTP, hence loopback only: another --listen is refused before anything starts.
  const devWide = await run("dev", "--data", path.join(root, "dev"), "--listen", "0.0.0.0:7070", "--no-examples");
  assert.notEqual(devWide.code, 0);
  assert.match(devWide.err, /TIFFIN_USAGE[\s\S]*dev clusters listen on loopback only/);
  assert.equal(fs.existsSync(path.join(root, "dev", "server")), false, "nothing started");
  const contexts = path.join(root, ".tiffin", "contexts.json");
  const [wrong, none, good] = await Promise.all([
    run("context", "add", "prod", "--server", server.url, "--token", server.adminToken, "--ca-hash", `sha256:${"0".repeat(64)}`),
    run("context", "add", "other", "--server", server.url, "--token", server.adminToken),
    // Racing the other two is fine: they save nothing.
    run("context", "add", "prod", "--server", server.url, "--token", server.adminToken, "--ca-hash", server.ca.hash, "--use"),
  ]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.err, /TIFFIN_TLS_UNTRUSTED/);
  assert.match(wrong.err, /did not present a CA with hash sha256:0{64}/);
  assert.equal(none.code, 2, none.err);
  assert.match(none.err, /is an https server: give the cluster CA's hash with --ca-hash/);
  assert.equal(good.code, 0, good.err);
  const saved = JSON.parse(fs.readFileSync(contexts, "utf8")) as { contexts: Record<string, { ca?: string }> };
  assert.deepEqual(Object.keys(saved.contexts), ["prod"], "the refused contexts were not saved");
  assert.equal(saved.contexts["prod"]?.ca?.trim(), server.ca.certPem.trim(), "the CA is pinned in the context");
  const [hosts, exec] = await Promise.all([run("hosts", "-o", "json"), run("exec", "-T", "nothing/0", "--", "true")]);
  assert.equal(hosts.code, 0, hosts.err);
  assert.deepEqual(JSON.parse(hosts.out), []);
  // The exec session's upgrade goes over HTTPS with the pinned CA too: the server answers (no such task).
  assert.notEqual(exec.code, 0);
  assert.match(exec.err, /TIFFIN_NOT_FOUND/, exec.err);
});

void test("tiffin server's TLS flags", () => {
  const cases: { name: string; flags: Parameters<typeof parseTlsFlags>[0]; want: ReturnType<typeof parseTlsFlags> | RegExp }[] = [
    { name: "defaults: TLS as the listen address says, host certificates of 30 days", flags: { hostCertLifetime: "720h" }, want: { hostCertLifetimeMs: 30 * 86_400_000 } },
    { name: "--tls", flags: { tls: true, hostCertLifetime: "1h" }, want: { on: true, hostCertLifetimeMs: 3_600_000 } },
    { name: "--no-tls (or TIFFIN_TLS=false): plain even off loopback", flags: { tls: false, hostCertLifetime: "1h" }, want: { on: false, hostCertLifetimeMs: 3_600_000 } },
    { name: "a lifetime under a second", flags: { hostCertLifetime: "10ms" }, want: /at least 1s/ },
    { name: "not a duration", flags: { hostCertLifetime: "soon" }, want: /at least 1s, got "soon"/ },
    { name: "--ca-cert without --ca-key", flags: { caCert: "/x.crt", hostCertLifetime: "720h" }, want: /go together/ },
    { name: "an unreadable CA file", flags: { caCert: "/nonexistent/ca.crt", caKey: "/nonexistent/ca.key", hostCertLifetime: "720h" }, want: /--ca-cert \/nonexistent\/ca.crt/ },
  ];
  for (const c of cases) {
    if (c.want instanceof RegExp) assert.throws(() => parseTlsFlags(c.flags), c.want, c.name);
    else assert.deepEqual(parseTlsFlags(c.flags), c.want, c.name);
  }
});
