// `tiffin completion`: the script bin/tiffin.js prints, loaded into a real bash as a user's
// `source <(tiffin completion bash)` does, then asked to complete as readline would (the completion
// function run on COMP_WORDS). zsh and fish are not installed here: their scripts are checked as text.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";

const bin = path.join(import.meta.dirname, "..", "..", "..", "bin", "tiffin.js");
const home = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-completion-"));
test.after(() => fs.rmSync(home, { recursive: true, force: true }));

function tiffin(...argv: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...argv], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", HOME: home } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

void test("bash completes command names, subcommands and options from `tiffin completion bash`", () => {
  const script = tiffin("completion", "bash");
  assert.equal(script.code, 0, script.err);
  const file = path.join(home, "tiffin.bash");
  fs.writeFileSync(file, script.out);
  const cases: [string[], string][] = [
    [["tiffin", "val"], "validate"],
    [["tiffin", "comp"], "completion"],
    [["tiffin", "pkg", "p"], "push"],
    [["tiffin", "--addr", "http://10.0.0.5:7070", "hosts", "r"], "remove"],
    [["tiffin", "validate", "--j"], "--json"],
    [["tiffin", "pkg", "push", "--na"], "--name"],
    [["tiffin", "--to"], "--token"],
    [["tiffin", "zzz"], ""],
  ];
  const calls = cases.map(([words]) => `t ${words.map((w) => `'${w}'`).join(" ")}`).join("\n");
  const r = spawnSync("bash", ["--norc", "--noprofile", "-c", `source ${file}\ncomplete -p tiffin\nt() { COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _tiffin; echo "\${COMPREPLY[*]}"; }\n${calls}`], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.equal(lines[0], "complete -o default -F _tiffin tiffin");
  cases.forEach(([words, want], i) => assert.equal(lines[i + 1], want, words.join(" ")));
  // Every top-level command is offered, the new ones too.
  const all = spawnSync("bash", ["--norc", "-c", `source ${file}; COMP_WORDS=(tiffin ""); COMP_CWORD=1; _tiffin; echo "\${COMPREPLY[*]}"`], { encoding: "utf8" }).stdout.split(/\s+/);
  for (const c of ["apply", "plan", "status", "logs", "exec", "init", "validate", "version", "completion", "help"]) assert.ok(all.includes(c), c);
});

void test("zsh and fish scripts; an unknown shell is a usage error", () => {
  const zsh = tiffin("completion", "zsh");
  assert.equal(zsh.code, 0, zsh.err);
  assert.match(zsh.out, /^#compdef tiffin\n/);
  assert.match(zsh.out, /bashcompinit/);
  assert.match(zsh.out, /complete -o default -F _tiffin tiffin/);
  const fish = tiffin("completion", "fish");
  assert.equal(fish.code, 0, fish.err);
  assert.match(fish.out, /^complete -c tiffin -n '__fish_use_subcommand' -a validate -d 'check spec files/m);
  assert.match(fish.out, /^complete -c tiffin -n '__fish_seen_subcommand_from pkg; and not __fish_seen_subcommand_from [^']*' -a push -d /m);
  assert.match(fish.out, /^complete -c tiffin -n '__fish_seen_subcommand_from validate' -l json$/m);
  const bad = tiffin("completion", "powershell");
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^error\[TIFFIN_USAGE\]: no completion for shell "powershell"\nhint: /);
});
