import assert from "node:assert/strict";
import test from "node:test";
import { compileJobs } from "./validate.ts";
import { decompileJob } from "./decompile.ts";
import { secret } from "./index.ts";

const base = { name: "web", command: "run" };

void test("secret references: compiled to names apart from env, decompiled back; bad names at their field", () => {
  const cases: { name: string; input: Record<string, unknown>; want: Record<string, unknown> | null; problems?: [string, RegExp][] }[] = [
    { name: "none: no secret fields (older specs compare equal)", input: { env: { A: 1 } }, want: { env: { A: "1" } } },
    { name: "env by secret() and a file", input: { env: { A: "x", DB: secret("db") }, secretFiles: { "tls/key.pem": secret("default/tls") } }, want: { env: { A: "x" }, secretEnv: { DB: "default/db" }, secretFiles: { "tls/key.pem": "default/tls" } } },
    { name: "JSON/YAML form", input: { env: { DB: { secret: "db" } } }, want: { env: {}, secretEnv: { DB: "default/db" } } },
    // Kept as written: the server refuses a secret of another namespace than the job's at apply (routes/job-scope.ts).
    { name: "another namespace, written out", input: { env: { DB: secret("team/db") } }, want: { env: {}, secretEnv: { DB: "team/db" } } },
    { name: "a plain name is the job's namespace's", input: { namespace: "team-a", env: { DB: secret("db") } }, want: { env: {}, secretEnv: { DB: "team-a/db" } } },
    { name: "a bad name", input: { secretFiles: { f: secret("a b") } }, want: null, problems: [["secretFiles.f.secret", /the name "a b" is not/]] },
    { name: "an extra field", input: { env: { DB: { secret: "db", value: "x" } } }, want: null, problems: [["env.DB.value", /unknown field "value"/]] },
    { name: "a file path leaving the folder", input: { secretFiles: { "../x": secret("db") } }, want: null, problems: [["secretFiles", /file paths are relative/]] },
    { name: "a reserved env name", input: { ports: ["http"], env: { PORT_HTTP: secret("db") } }, want: null, problems: [["env.PORT_HTTP", /./]] },
  ];
  for (const c of cases) {
    const r = compileJobs({ ...base, ...c.input }, null);
    if (c.want === null) {
      assert.equal(r.specs.length, 0, c.name);
      for (const [path, msg] of c.problems ?? []) assert.ok(r.problems.some((p) => p.path.startsWith(path) && msg.test(p.message)), `${c.name}: ${JSON.stringify(r.problems)}`);
      continue;
    }
    assert.deepEqual(r.problems, [], c.name);
    const spec = r.specs[0];
    assert.ok(spec, c.name);
    assert.deepEqual({ env: spec.env, ...(spec.secretEnv ? { secretEnv: spec.secretEnv } : {}), ...(spec.secretFiles ? { secretFiles: spec.secretFiles } : {}) }, c.want, c.name);
    assert.equal(spec.secretVersions, undefined, `${c.name}: versions are the server's`);
    // Round trip: the user's form compiles to the same spec.
    assert.deepEqual(compileJobs(decompileJob(spec), null).specs[0], spec, `${c.name}: round trip`);
  }
});
