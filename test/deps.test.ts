// `npm test` on a fresh machine: .ci/deps (the pretest script) runs as written, with a PATH that lacks
// crun, etcd and friends. Without root it fails at once saying what is missing, why and how to
// install it; as root with apt-get it installs them, saying so in one line. (Root and apt-get are
// stand-ins on PATH here: the test must not install anything.)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";

const script = path.join(import.meta.dirname, "..", ".ci", "deps");

/** A bin dir with the basic tools the script uses, and `extra` stand-ins (name -> shell body). */
function binDir(extra: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-deps-"));
  for (const tool of ["bash", "uname", "grep", "mountpoint"]) {
    const real = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    if (real) fs.symlinkSync(real, path.join(dir, tool));
  }
  for (const [name, body] of Object.entries(extra)) fs.writeFileSync(path.join(dir, name), `#!${path.join(dir, "bash")}\n${body}\n`, { mode: 0o755 });
  return dir;
}

function runDeps(bin: string): { code: number | null; err: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(path.join(bin, "bash"), [script], { encoding: "utf8", env: { PATH: bin, TIFFIN_ETCD: "/nonexistent/etcd", TIFFIN_CHROMIUM: "/nonexistent/chromium" }, timeout: 20_000 });
  return { code: r.status, err: r.stderr, ms: Date.now() - t0 };
}

void test(".ci/deps without root: fails at once naming what is missing, why, and how to install it", () => {
  const bin = binDir({ id: 'echo 1000' });
  try {
    const r = runDeps(bin);
    assert.equal(r.code, 1, r.err);
    assert.ok(r.ms < 5000, `fails fast (${r.ms} ms)`);
    assert.match(r.err, /tiffin tests: missing .*crun \(task sandboxes\)/);
    assert.match(r.err, /etcd-server \(the HA store's tests start etcd members\)/);
    assert.match(r.err, /sudo apt-get install -y --no-install-recommends .*crun.*etcd-server/);
    assert.match(r.err, /without root: /);
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
  }
});

void test(".ci/deps as root with apt-get: installs what is missing and says so in one line", () => {
  const log = path.join(os.tmpdir(), `tiffin-deps-apt-${process.pid}.log`);
  const bin = binDir({ id: "echo 0", "apt-get": `echo "$@" >> ${log}` });
  try {
    const r = runDeps(bin);
    assert.equal(r.code, 0, r.err);
    const lines = r.err.split("\n").filter((l) => l.startsWith("tiffin tests: installing"));
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0]!, /crun \(task sandboxes\).*etcd-server .* with apt-get$/);
    assert.match(fs.readFileSync(log, "utf8"), /^install -y --no-install-recommends .*crun.*etcd-server/m);
    assert.match(fs.readFileSync(log, "utf8"), /^install -y .* zsh fish chromium bind9-dnsutils nftables conntrack$/m, "the shells the completion tests run, the browser the dashboard's, dig for DNS, nft and conntrack for the kernel-mode proxy");
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
    fs.rmSync(log, { force: true });
  }
});
