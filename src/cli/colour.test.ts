// Colour only on a terminal, honouring NO_COLOR: the decision by a table, then bin/tiffin.js run on a
// real pseudo-terminal (util-linux `script`), with NO_COLOR, and into a pipe.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { colourEnabled } from "./colour.ts";

const bin = path.join(import.meta.dirname, "..", "..", "bin", "tiffin.js");

void test("colourEnabled: a terminal, unless NO_COLOR or TERM=dumb; FORCE_COLOR wins over no terminal", () => {
  const cases: [string, boolean, Record<string, string>, boolean][] = [
    ["terminal", true, { TERM: "xterm" }, true],
    ["pipe", false, { TERM: "xterm" }, false],
    ["terminal, NO_COLOR=1", true, { NO_COLOR: "1" }, false],
    ["terminal, NO_COLOR empty (unset, per no-color.org)", true, { NO_COLOR: "" }, true],
    ["terminal, TERM=dumb", true, { TERM: "dumb" }, false],
    ["pipe, FORCE_COLOR=1", false, { FORCE_COLOR: "1" }, true],
    ["pipe, FORCE_COLOR=0", false, { FORCE_COLOR: "0" }, false],
    ["NO_COLOR beats FORCE_COLOR", true, { NO_COLOR: "1", FORCE_COLOR: "1" }, false],
  ];
  for (const [name, tty, env, want] of cases) assert.equal(colourEnabled(tty, env), want, name);
});

// Escape sequences as text: `E` stands for ESC (a control character in a regex literal is a lint error).
const E = "\x1b";
const has = (text: string, want: string): boolean => text.includes(want.replaceAll("E[", `${E}[`));

void test("on a terminal errors and ok are coloured; not with NO_COLOR, not into a pipe", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-colour-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, "good.json"), JSON.stringify({ name: "web", command: ["web"] }));
  const base = { PATH: process.env["PATH"] ?? "", HOME: dir, TERM: "xterm" };
  const cmd = `${process.execPath} ${bin} validate good.json && ${process.execPath} ${bin} --addr 'http://[bad' jobs`;
  // `script` gives the command a pseudo-terminal for stdout and stderr, as a user's shell has.
  const onTty = (env: Record<string, string>): string => spawnSync("script", ["-qec", cmd, "/dev/null"], { cwd: dir, encoding: "utf8", env: { ...base, ...env } }).stdout;
  const tty = onTty({});
  assert.ok(has(tty, "E[32mokE[0m good.json"), tty);
  assert.ok(has(tty, 'E[31mE[1merror[TIFFIN_USAGE]:E[0mE[0m server address "http://[bad"'), tty);
  assert.ok(has(tty, "E[33mhint:E[0m "), tty);
  const noColour = onTty({ NO_COLOR: "1" });
  assert.match(noColour, /^ok good\.json/m);
  assert.match(noColour, /^error\[TIFFIN_USAGE\]: server address/m);
  assert.ok(!noColour.includes(E), noColour);
  const piped = spawnSync("sh", ["-c", `(${cmd}) 2>&1 | cat`], { cwd: dir, encoding: "utf8", env: base }).stdout;
  assert.match(piped, /^ok good\.json: 1 job \(web\)\nerror\[TIFFIN_USAGE\]: server address/);
  assert.ok(!piped.includes(E), piped);
});
