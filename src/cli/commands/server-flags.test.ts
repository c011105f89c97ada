// `tiffin server --metrics-keep` (and TIFFIN_METRICS_KEEP, like every flag): a duration of at least
// 10 minutes (one block), refused otherwise with a usage error that says what was given.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { memoryIo } from "../io.ts";
import { main } from "../main.ts";

void test("tiffin server --metrics-keep refuses what is not a duration of at least 10m, from the flag or TIFFIN_METRICS_KEEP", async () => {
  const never = path.join(os.tmpdir(), "never-made");
  const cases: [string, string[], Record<string, string>, string][] = [
    ["not a duration", ["--metrics-keep", "forever"], {}, '"forever"'],
    ["under a block", ["--metrics-keep", "5m"], {}, '"5m"'],
    ["from the environment", [], { TIFFIN_METRICS_KEEP: "1s" }, '"1s"'],
  ];
  for (const [name, flags, env, given] of cases) {
    // Commander reads flag variables from process.env.
    Object.assign(process.env, env);
    const io = memoryIo(env);
    const code = await main(["server", "--data", never, ...flags], io).finally(() => {
      for (const k of Object.keys(env)) delete process.env[k];
    });
    assert.equal(code, 2, name);
    assert.match(io.stderr, /--metrics-keep takes a duration of at least 10m/, name);
    assert.ok(io.stderr.includes(given), `${name}: ${io.stderr}`);
  }
});

void test("tiffin server --metrics-full refuses what is not a duration of at least 10m", async () => {
  const io = memoryIo({});
  const code = await main(["server", "--data", path.join(os.tmpdir(), "never-made"), "--metrics-full", "1s"], io);
  assert.equal(code, 2);
  assert.match(io.stderr, /--metrics-full takes a duration of at least 10m, got "1s"/);
});

void test("tiffin server --remediation refuses a rules file that is unreadable, not YAML, or wrong, naming the field", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-remflag-"));
  const file = (name: string, text: string): string => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  const cases: [string, string, RegExp][] = [
    ["missing", path.join(dir, "nope.yaml"), /--remediation .*nope\.yaml: cannot read/],
    ["not YAML", path.join(dir, "bad.yaml"), /not YAML or JSON/],
    ["unknown action", file("action.yaml", "rules: [{name: r, checks: [disk], actions: [reboot]}]"), /invalid remediation config: rules\[0\]\.actions\[0\]/],
    ["repair without command", file("repair.yaml", "rules: [{name: r, checks: [disk], actions: [repair]}]"), /rules\[0\]\.command: rule "r" has a repair action but no command/],
    ["budget typo", file("budget.yaml", "budget: {maxHost: 3}"), /budget/],
  ];
  fs.writeFileSync(path.join(dir, "bad.yaml"), "rules: [unclosed");
  try {
    for (const [name, f, want] of cases) {
      const io = memoryIo({});
      const code = await main(["server", "--data", path.join(dir, "never"), "--remediation", f], io);
      assert.equal(code, 2, `${name}: ${io.stderr}`);
      assert.match(io.stderr, want, name);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
