// The resource layer's rule, checked on the source: server code writes stored values through a kind's
// encode and reads them through its decode, never JSON.stringify into a put nor JSON.parse(...) as T
// of a stored value (docs/architecture.md, "Resource layer"). Test files are left out.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";

const root = path.join(import.meta.dirname);
const files = (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

void test("no server file puts JSON.stringify text or casts a parsed stored value", () => {
  const rules: [RegExp, string][] = [
    [/type: "put"[^}]*value: JSON\.stringify\(/, "a put of JSON.stringify text (use Kinds.x.encode)"],
    [/store\.put\([^)]*JSON\.stringify\(/, "a put of JSON.stringify text (use Kinds.x.encode)"],
    [/JSON\.parse\([^)]*\.value\)\s+as\s/, "a stored value read by a cast (use decodeOne/decodeAll)"],
  ];
  const found: string[] = [];
  for (const f of files) {
    const lines = fs.readFileSync(path.join(root, f), "utf8").split("\n");
    lines.forEach((line, i) => {
      for (const [re, what] of rules) if (re.test(line)) found.push(`src/server/${f}:${i + 1}: ${what}`);
    });
  }
  assert.deepEqual(found, []);
});
