// What an older agent left open in DIR/attempts is narrowed at start; the task's own files are not.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { narrowAttempts } from "./private-attempts.ts";

void test("narrowAttempts: 0755 dirs and 0644 files of attempts become 0700 and 0600; work/ and rootfs keep theirs", (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-narrow-"));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const a = path.join(root, "att-old-1");
  for (const d of ["logs", "sandbox/rootfs/etc", "work/static"]) fs.mkdirSync(path.join(a, d), { recursive: true });
  const files = ["attempt.json", "assignment.json", "status.json", "helper.log", "logs/stdout.0.log.zst", "logs/stdout.0.idx", "sandbox/config.json", "sandbox/rootfs/etc/x", "work/index.html", "work/static/app.js"];
  for (const f of files) fs.writeFileSync(path.join(a, f), "x", { mode: 0o644 });
  fs.chmodSync(path.join(a, "work/static/app.js"), 0o755);
  for (const d of ["", "logs", "sandbox", "sandbox/rootfs", "work", "work/static"]) fs.chmodSync(path.join(a, d), 0o755);

  const changed = narrowAttempts(root);
  const mode = (p: string): string => (fs.statSync(path.join(a, p)).mode & 0o777).toString(8);
  const want: Record<string, string> = {
    "": "700",
    logs: "700",
    sandbox: "700",
    "attempt.json": "600",
    "assignment.json": "600",
    "status.json": "600",
    "helper.log": "600",
    "logs/stdout.0.log.zst": "600",
    "logs/stdout.0.idx": "600",
    "sandbox/config.json": "600",
    // The task's: its own modes.
    "sandbox/rootfs": "755",
    "sandbox/rootfs/etc/x": "644",
    work: "755",
    "work/index.html": "644",
    "work/static/app.js": "755",
  };
  assert.deepEqual(Object.fromEntries(Object.keys(want).map((p) => [p, mode(p)])), want);
  assert.equal(changed, 10);
  assert.equal(narrowAttempts(root), 0, "nothing left to change");
  assert.equal(narrowAttempts(path.join(root, "missing")), 0);
});
