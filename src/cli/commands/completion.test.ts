// `tiffin completion`: the script bin/tiffin.js prints, loaded into a real bash as a user's
// `source <(tiffin completion bash)` does, then asked to complete as readline would (the completion
// function run on COMP_WORDS); zsh's script in an interactive zsh on a pseudo-terminal (zpty), where a
// Tab is typed as a user types it; fish's with fish's own `complete -C`. A shell that is not installed
// (.ci/deps installs zsh and fish) skips its test, saying so.
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

/** The path of a shell, or undefined when it is not installed. */
function shell(name: string): string | undefined {
  return ["/usr/bin", "/bin", "/usr/local/bin"].map((d) => path.join(d, name)).find((p) => fs.existsSync(p));
}

/** Words typed in the real shells, and the command line each must complete to (a unique match). */
const typed: [string, string][] = [
  ["tiffin ap", "apply"],
  ["tiffin pkg p", "pkg push"],
  ["tiffin --addr http://10.0.0.5:7070 hosts r", "--addr http://10.0.0.5:7070 hosts remove"],
  ["tiffin validate --j", "validate --json"],
  ["tiffin comp", "completion"],
];

void test("zsh: `source <(tiffin completion zsh)` in an interactive zsh completes a Tab typed on its terminal", (t) => {
  const zsh = shell("zsh");
  if (!zsh) return void t.skip("zsh is not installed (apt-get install zsh; .ci/deps installs it)");
  const script = tiffin("completion", "zsh");
  assert.equal(script.code, 0, script.err);
  assert.match(script.out, /^#compdef tiffin\n/);
  const file = path.join(home, "tiffin.zsh");
  fs.writeFileSync(file, script.out);
  // Each line is typed with a Tab, then Enter: the completed line runs a stub \`tiffin\` that prints its
  // words after "RAN=" (written "RAN""=" so that the terminal's echo of the definition does not match).
  const driver = [
    "zmodload zsh/zpty",
    `zpty z '${zsh} -f -i'`,
    `zpty -w z 'PS1="> "; autoload -U compinit && compinit -u -D; source ${file}; tiffin() { print -r -- "RAN""=$*" }'`,
    ...typed.map(([line]) => `zpty -w -n z $'${line}\\t\\n'`),
    "zpty -w z exit",
    'while zpty -r z line; do print -r -- "$line"; done',
  ].join("\n");
  const r = spawnSync(zsh, ["-f", "-c", driver], { encoding: "utf8", cwd: home, env: { PATH: process.env["PATH"] ?? "", HOME: home, TERM: "dumb" }, timeout: 60_000 });
  const ran = [...r.stdout.matchAll(/RAN=([^\r\n]*)/g)].map((m) => m[1]!.trim());
  assert.deepEqual(ran, typed.map(([, want]) => want), `zsh completed:\n${r.stdout}${r.stderr}`);
});

void test("fish: `tiffin completion fish` loaded into fish completes with descriptions (`complete -C`)", (t) => {
  const fish = shell("fish");
  if (!fish) return void t.skip("fish is not installed (apt-get install fish; .ci/deps installs it)");
  const script = tiffin("completion", "fish");
  assert.equal(script.code, 0, script.err);
  const file = path.join(home, "tiffin.fish");
  fs.writeFileSync(file, script.out);
  const asks = typed.map(([line]) => `complete -C '${line}'; echo ---`).join("; ");
  const r = spawnSync(fish, ["--no-config", "-c", `source ${file}; ${asks}`], { encoding: "utf8", cwd: home, env: { PATH: process.env["PATH"] ?? "", HOME: home }, timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const answers = r.stdout.split("---\n").slice(0, typed.length);
  typed.forEach(([line, want], i) => {
    const candidates = (answers[i] ?? "").split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0]);
    assert.deepEqual(candidates, [want.split(" ").at(-1)], `fish completes "${line}"`);
  });
  assert.match(answers[0] ?? "", /^apply\tstore new job versions/);
});

void test("zsh and fish scripts as text; an unknown shell is a usage error", () => {
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
