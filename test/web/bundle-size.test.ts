// The dashboard's bundle stays under 250 KB gzipped (issue 19): built afresh from web/ into a
// temporary folder, every file the page loads counted, compressed as a server would.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/** The budget, gzipped bytes of everything the page loads. */
const BudgetBytes = 250 * 1024;

void test("the dashboard's bundle is under 250 KB gzipped, with nothing from another origin", (t) => {
  const root = join(import.meta.dirname, "..", "..");
  const out = mkdtempSync(join(tmpdir(), "tiffin-web-build-"));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  execFileSync(process.execPath, [join(root, "node_modules/vite/bin/vite.js"), "build", "web", "--outDir", out, "--emptyOutDir", "--logLevel", "warn"], { cwd: root, stdio: "inherit" });
  const files = ["index.html", ...readdirSync(join(out, "assets")).map((f) => join("assets", f))];
  let total = 0;
  const sizes: string[] = [];
  for (const f of files) {
    const text = readFileSync(join(out, f));
    const gz = gzipSync(text, { level: 9 }).length;
    total += gz;
    sizes.push(`${f}: ${(gz / 1024).toFixed(1)} KB`);
  }
  t.diagnostic(`gzipped: ${(total / 1024).toFixed(1)} KB (${sizes.join(", ")})`);
  assert.ok(total < BudgetBytes, `the dashboard is ${(total / 1024).toFixed(1)} KB gzipped, over the ${BudgetBytes / 1024} KB budget: ${sizes.join(", ")}`);
  assert.ok(files.some((f) => f.endsWith(".js")), "a script was built");
  const html = readFileSync(join(out, "index.html"), "utf8");
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "no CDN: every file is served by tiffin server");
});
