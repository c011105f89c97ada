// Hints are for people who installed tiffin, not for readers of its source: no hint in the code
// names a source file (`src/...`, `*.ts`) or a document only a checkout has. Scans every hint
// literal (`hint: "..."`, `hint: \`...\``) in src/, tests aside.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";

const root = join(import.meta.dirname, "..");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "testdata" ? [] : sources(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [p] : [];
  });
}

void test("no hint points into source files", () => {
  const hint = /hint:\s*(?:"((?:[^"\\]|\\.)*)"|`((?:[^`\\]|\\.)*)`)/g;
  const intoSource = /\bsrc\/|\b[\w-]+\.ts\b|\.\.\/|docs\/[\w-]+\.md|README\.md/;
  let seen = 0;
  const bad: string[] = [];
  for (const file of sources(root)) {
    for (const m of readFileSync(file, "utf8").matchAll(hint)) {
      seen++;
      const text = m[1] ?? m[2] ?? "";
      // `tiffin apply hello.ts` and friends name the user's own spec files, not ours.
      if (intoSource.test(text.replace(/\b(?:hello|tiffin|spec|web|FILE)\.ts\b/g, ""))) bad.push(`${relative(root, file)}: ${text}`);
    }
  }
  assert.ok(seen > 50, `the scan finds the hints (${seen})`);
  assert.deepEqual(bad, []);
});
