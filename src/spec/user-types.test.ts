// The spec types as a user's editor gets them: the declaration build (what `npm run build` puts in
// dist/) installed as node_modules/tiffin in a spec repository outside this checkout, checked with
// the user's own `tsc` and asked for hovers through TypeScript's language service, as an editor does.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";

const root = join(import.meta.dirname, "..", "..");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const dir = mkdtempSync(join(tmpdir(), "tiffin-user-types-"));
const repo = join(dir, "specs");

function typeCheck(): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [tsc, "-p", ".", "--pretty", "false"], { cwd: repo, encoding: "utf8" });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

before(() => {
  const pkg = join(repo, "node_modules", "tiffin");
  mkdirSync(pkg, { recursive: true });
  const built = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json"), "--emitDeclarationOnly", "--outDir", join(pkg, "dist")], { encoding: "utf8" });
  assert.equal(built.status, 0, `declaration build:\n${built.stdout}${built.stderr}`);
  const own = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { exports: unknown; types: string };
  writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "tiffin", type: "module", exports: own.exports, types: own.types }));
  symlinkSync(join(root, "node_modules", "zod"), join(repo, "node_modules", "zod"));
  writeFileSync(join(repo, "package.json"), JSON.stringify({ name: "my-specs", private: true, type: "module" }));
  writeFileSync(join(repo, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "es2022", module: "nodenext", strict: true, noEmit: true }, include: ["*.ts"] }));
});

after(() => rmSync(dir, { recursive: true, force: true }));

const good = `import { job, http } from "tiffin";
export default job({
  name: "web", command: ["web"], ports: ["http"],
  resources: { memory: "256Mi", disk: 512, cpu: 0.5 },
  health: http({ port: "http", every: "2s", timeout: "500ms" }),
  stop: { grace: "1m30s" }, disconnect: { stopAfter: "5m" },
});
`;

void test("a spec with right units type-checks against the built types", () => {
  writeFileSync(join(repo, "web.ts"), good);
  const r = typeCheck();
  assert.equal(r.code, 0, r.out);
});

void test("a wrong unit is a type error naming the field, before any command runs", async (t) => {
  const cases = [
    { name: "memory: lots", text: good.replace('memory: "256Mi"', 'memory: "lots"'), field: "memory", value: '"lots"', units: "number | `${number}Mi` | `${number}Gi` | `${number}Ti`" },
    { name: "memory in MB", text: good.replace('memory: "256Mi"', 'memory: "256MB"'), field: "memory", value: '"256MB"', units: "number | `${number}Mi` | `${number}Gi` | `${number}Ti`" },
    { name: "every: soon", text: good.replace('every: "2s"', 'every: "soon"'), field: "every", value: '"soon"', units: "Duration" },
    { name: "grace in days", text: good.replace('grace: "1m30s"', 'grace: "1d"'), field: "grace", value: '"1d"', units: "Duration" },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      writeFileSync(join(repo, "web.ts"), c.text);
      const r = typeCheck();
      assert.equal(r.code, 2, `${c.name} should fail:\n${r.out}`);
      // tsc names the field by its place: the error stands at the field's key (an editor underlines
      // it; a terminal's pretty output quotes the line with the key marked), with the value and the
      // units the field takes.
      const lines = c.text.slice(0, c.text.indexOf(`${c.field}: ${c.value}`)).split("\n");
      const at = `web.ts(${lines.length},${lines.at(-1)!.length + 1}): error TS2322: Type '${c.value}' is not assignable to type '${c.units}`;
      assert.ok(r.out.includes(at), `expected ${at}\n${r.out}`);
    });
  }
  writeFileSync(join(repo, "web.ts"), good);
});

void test("the repository `tiffin init` scaffolds type-checks against the built types", () => {
  const made = spawnSync(process.execPath, [join(root, "bin", "tiffin.js"), "init", "scaffolded"], { cwd: dir, encoding: "utf8", env: { ...process.env, HOME: dir } });
  assert.equal(made.status, 0, made.stderr);
  const scaffolded = join(dir, "scaffolded");
  // As `npm install` would leave it: the same built package.
  symlinkSync(join(repo, "node_modules"), join(scaffolded, "node_modules"));
  const r = spawnSync(process.execPath, [tsc, "-p", ".", "--pretty", "false"], { cwd: scaffolded, encoding: "utf8" });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  writeFileSync(join(scaffolded, "tiffin.ts"), readFileSync(join(scaffolded, "tiffin.ts"), "utf8").replace('"128Mi"', '"128MB"'));
  const bad = spawnSync(process.execPath, [tsc, "-p", ".", "--pretty", "false"], { cwd: scaffolded, encoding: "utf8" });
  assert.match(bad.stdout, /tiffin\.ts\(\d+,\d+\): error TS2322: Type '"128MB"'/);
});

void test("hovering a field in the user's editor shows its description and default", () => {
  const file = join(repo, "web.ts");
  writeFileSync(file, good);
  const options: ts.CompilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true };
  const host: ts.LanguageServiceHost = {
    getScriptFileNames: () => [file],
    getScriptVersion: () => "1",
    getScriptSnapshot: (f) => (ts.sys.fileExists(f) ? ts.ScriptSnapshot.fromString(ts.sys.readFile(f) ?? "") : undefined),
    getCurrentDirectory: () => repo,
    getCompilationSettings: () => options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: (f) => ts.sys.fileExists(f),
    readFile: (f) => ts.sys.readFile(f),
    readDirectory: (p, e, x, i, d) => ts.sys.readDirectory(p, e, x, i, d),
    directoryExists: (p) => ts.sys.directoryExists(p),
    getDirectories: (p) => ts.sys.getDirectories(p),
  };
  const service = ts.createLanguageService(host);
  const hover = (word: string): string => {
    const info = service.getQuickInfoAtPosition(file, good.indexOf(word) + 1);
    assert.ok(info, `a hover on ${word}`);
    const tags = (info.tags ?? []).map((tag) => `@${tag.name} ${ts.displayPartsToString(tag.text)}`);
    return [ts.displayPartsToString(info.displayParts), ts.displayPartsToString(info.documentation), ...tags].join("\n");
  };
  assert.match(hover("memory:"), /cgroup limit[\s\S]*@default "128Mi"/);
  assert.match(hover("memory:"), /`\$\{number\}Mi`/);
  assert.match(hover("every:"), /Time between checks[\s\S]*@default "10s"/);
  assert.match(hover("disconnect:"), /loses the server/);
  assert.match(hover("stopAfter:"), /null keeps them running/);
});
