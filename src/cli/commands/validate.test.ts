// `tiffin init` and `tiffin validate` through bin/tiffin.js as a user types them, with no server
// anywhere (TIFFIN_ADDR points at a closed port: nothing may be asked of it).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";

const bin = path.join(import.meta.dirname, "..", "..", "..", "bin", "tiffin.js");

function run(cwd: string, ...argv: string[]): { code: number | null; out: string; err: string } {
  const env = { PATH: process.env["PATH"] ?? "", HOME: cwd, TIFFIN_ADDR: "http://127.0.0.1:1", NODE_OPTIONS: process.env["NODE_OPTIONS"] ?? "" };
  const r = spawnSync(process.execPath, [bin, ...argv], { cwd, encoding: "utf8", env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

void test("tiffin init scaffolds a spec repository, refuses to overwrite, and its example validates", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-init-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const made = run(dir, "init", "My Specs");
  assert.equal(made.code, 0, made.err);
  const repo = path.join(dir, "My Specs");
  assert.deepEqual(fs.readdirSync(repo).sort(), [".gitignore", "package.json", "tiffin.ts", "tsconfig.json"]);
  const pkg = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")) as { name: string; devDependencies: Record<string, string> };
  assert.equal(pkg.name, "my-specs");
  assert.match(pkg.devDependencies["tiffin"] ?? "", /^\^\d+\.\d+\.\d+/);
  assert.match(made.out, /^next: cd 'My Specs' && npm install && npx tsc -p \. && npx tiffin validate tiffin\.ts$/m);
  const ok = run(repo, "validate", "tiffin.ts");
  assert.equal(ok.code, 0, ok.err);
  assert.equal(ok.out, "ok tiffin.ts: 1 job (hello)\n");

  fs.writeFileSync(path.join(repo, "tiffin.ts"), "// mine\n");
  const again = run(dir, "init", "My Specs");
  assert.equal(again.code, 2);
  assert.match(again.err, /^error\[TIFFIN_USAGE\]: My Specs already has package\.json, tsconfig\.json, tiffin\.ts, \.gitignore/);
  assert.equal(fs.readFileSync(path.join(repo, "tiffin.ts"), "utf8"), "// mine\n", "nothing overwritten");
});

void test("tiffin validate checks every file with no server: problems with file, field path and value; exit 2", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-validate-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, "good.json"), JSON.stringify({ name: "web", command: ["web"], resources: { memory: "256Mi" } }));
  fs.writeFileSync(path.join(dir, "bad.yaml"), "name: web\ncommand: [web]\nresources:\n  memory: lots\nstop:\n  grace: 2d\n");
  const r = run(dir, "validate", "good.json", "bad.yaml", "missing.ts");
  assert.equal(r.code, 2, r.err);
  assert.equal(r.out, "ok good.json: 1 job (web)\n");
  assert.match(r.err, /bad\.yaml: resources\.memory: expected a size[^\n]*\(got "lots"\)/);
  assert.match(r.err, /bad\.yaml: stop\.grace: expected a duration[^\n]*\(got "2d"\)/);
  assert.match(r.err, /error\[TIFFIN_SPEC_LOAD\]: missing\.ts: no such file/);
  assert.doesNotMatch(r.err, /ECONNREFUSED|127\.0\.0\.1:1|bug in tiffin/);

  const json = run(dir, "validate", "--json", "good.json", "bad.yaml");
  assert.equal(json.code, 2);
  const verdicts = JSON.parse(json.out) as { file: string; ok: boolean; problems?: { path: string; value: string | null }[] }[];
  assert.deepEqual(verdicts.map((v) => [v.file, v.ok]), [["good.json", true], ["bad.yaml", false]]);
  assert.deepEqual(verdicts[1]?.problems?.map((p) => [p.path, p.value]), [["resources.memory", '"lots"'], ["stop.grace", '"2d"']]);

  const good = run(dir, "validate", "good.json");
  assert.equal(good.code, 0, good.err);
});

void test("tiffin validate: metric checks written with metric() in a .ts spec; bad ones refused with their field paths", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-validate-metric-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const spec = (health: string): string => `import { job, http, metric } from "tiffin";
export default job({
  name: "web", command: ["./web"], ports: ["http"],
  metrics: { port: "http", signals: { errors: "http_errors_total" } },
  health: ${health},
});
`;
  fs.writeFileSync(path.join(dir, "good.ts"), spec('[http({ port: "http" }), metric({ signal: "errors", above: 5, for: "30s", then: "move" })]'));
  const ok = run(dir, "validate", "good.ts");
  assert.equal(ok.code, 0, ok.err);
  assert.equal(ok.out, "ok good.ts: 1 job (web)\n");
  // Plain objects (as a JSON spec or a cast would give): the loader checks them all the same.
  fs.writeFileSync(path.join(dir, "bad.ts"), spec('[metric({ signal: "cpu", above: 1 } as never), metric({ signal: "errors", above: -1, for: "30s" }), metric({ signal: "errors", above: 5, for: "2s" }), metric({ signal: "latency", below: 1 })]'));
  const bad = run(dir, "validate", "--json", "bad.ts");
  assert.equal(bad.code, 2, bad.err);
  const verdicts = JSON.parse(bad.out) as { problems?: { path: string; message: string }[] }[];
  assert.deepEqual(verdicts[0]?.problems?.map((p) => p.path), ["health[0].signal", "health[1].above"], "field errors first; cross-field checks need the list to parse");
  fs.writeFileSync(path.join(dir, "cross.ts"), spec('[metric({ signal: "errors", above: 5, for: "2s" }), metric({ signal: "latency", below: 1 })]'));
  const cross = run(dir, "validate", "--json", "cross.ts");
  assert.equal(cross.code, 2, cross.err);
  const c = JSON.parse(cross.out) as { problems?: { path: string; message: string }[] }[];
  assert.deepEqual(c[0]?.problems?.map((p) => [p.path, p.message]), [
    ["health[0].for", "2000ms is shorter than the scrape interval (10000ms): a breach must last at least one scrape"],
    ["health[1].signal", 'signal "latency" is not mapped to a metric: set metrics.signals.latency'],
  ]);
});
