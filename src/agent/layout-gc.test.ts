// Layout templates (one per job's user id range) no start touched for keepMs are collected; one a start
// uses stays. Real folders made by the helper's own layoutTemplate.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { layoutTemplate } from "../helper/sandbox-private.ts";
import type { HostLayout } from "../helper/sandbox-private.ts";
import { pruneLayouts } from "./layout-gc.ts";

void test("pruneLayouts: templates untouched for keepMs go, one a start just used stays, half-made ones go", async (t) => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-layouts-"));
  t.after(() => fs.rmSync(cache, { recursive: true, force: true }));
  const layout: HostLayout = { var: [{ kind: "dir", rel: "lib", mode: 0o755 }], run: [] };
  const a = layoutTemplate(cache, layout, { uid: 1_000_131_070, gid: 1_000_131_070 });
  const b = layoutTemplate(cache, layout, { uid: 1_000_196_606, gid: 1_000_196_606 });
  const half = path.join(cache, `.${path.basename(a).replace(/^./, "f")}-AbC123`);
  fs.mkdirSync(half);
  fs.writeFileSync(path.join(cache, "notes.txt"), "not a template");
  const old = new Date(Date.now() - 7_200_000);
  for (const p of [a, b, half]) fs.utimesSync(p, old, old);
  assert.equal(layoutTemplate(cache, layout, { uid: 1_000_196_606, gid: 1_000_196_606 }), b, "a start uses b: touched");
  const removed = await pruneLayouts(cache, Date.now(), 3_600_000);
  assert.deepEqual(removed.sort(), [path.basename(a), path.basename(half)].sort());
  assert.deepEqual(fs.readdirSync(cache).sort(), [path.basename(b), "notes.txt"].sort());
  assert.ok(fs.existsSync(path.join(layoutTemplate(cache, layout, { uid: 1_000_131_070, gid: 1_000_131_070 }), "var", "lib")), "made again when needed");
});
