// Secrets end to end (issue 17): the real server in a child process, a real agent, the task a real
// process. The task sees its secret as an env var and as an owner-only file (it prints their sha256,
// never the value); the value is in no API answer, no log, no saved assignment, and not in clear in
// the server's SQLite files; an unknown secret fails plan and apply at its field; setting a new value
// rolls the job to a new version whose task sees the new value; rm is refused while a job uses it.
// Values never touch the agent's disk: a sandboxed job beside the plain one, and no file anywhere in
// the agent's data dir holds a value (they reach the helper through a tmpfs file it removes at once;
// secret files live on that tmpfs; a sandbox's config.json too, until the container started), and the
// tmpfs dir goes with the task.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { serverAndAgent } from "./real-server.ts";
import { defaultSecretsRoot, secretsDirOf } from "../helper/secrets-dir.ts";
import { testSpec } from "./test-fixtures.ts";

const sha = (s: string): string => createHash("sha256").update(s).digest("hex");

void test("a task gets its secret in env and file; the value leaks nowhere; rotation rolls the job", async (t) => {
  const sa = await serverAndAgent(t, { prefix: "tiffin-secrets-", name: "box-1" });
  const one = "pw-one-aardvark-7781";
  const two = "pw-two-narwhal-4410";
  const put = async (value: string): Promise<Response> => sa.api("/v1/secrets/default/db", { method: "PUT", body: JSON.stringify({ valueBase64: Buffer.from(value).toString("base64") }) });
  assert.equal((await put(one)).status, 200);

  // As compileJobs makes it from `env: { DB_PASSWORD: secret("db") }` (src/spec/secret-input.test.ts).
  const spec = testSpec({
    name: "sec", isolation: "none", resources: { cpu: 0.1, memoryMiB: 32, diskMiB: 16 },
    command: ["/bin/sh", "-c", "printf '%s' \"$DB_PASSWORD\" | sha256sum; sha256sum < secrets/db.pw; stat -c 'mode %a' secrets/db.pw; exec sleep 600"],
    env: { PLAIN: "x" }, secretEnv: { DB_PASSWORD: "default/db" }, secretFiles: { "db.pw": "default/db" },
  });
  const bad = { ...spec, name: "bad", secretEnv: { API_KEY: "default/nope" } };
  const boxed = { ...spec, name: "sec-box", isolation: "sandbox" as const };

  // An unknown secret: refused at plan and at apply, at its field.
  for (const route of ["/v1/plan", "/v1/jobs"]) {
    const r = await sa.api(route, { method: "POST", body: JSON.stringify({ spec: bad }) });
    const body = (await r.json()) as { error: { code: string; problems: { path: string; message: string }[] } };
    assert.equal(r.status, 422, route);
    assert.deepEqual(body.error.problems.map((p) => [p.path, p.message]), [["env.API_KEY", "secret default/nope does not exist"]], route);
  }

  assert.equal((await sa.api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec }) })).status, 200);
  assert.equal((await sa.api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec: boxed }) })).status, 200);
  const logsOf = async (want: string, job = "sec"): Promise<string> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const text = await (await sa.api(`/v1/tasks/${job}/0/logs`)).text();
      if (text.includes(want)) return text;
      if (Date.now() > deadline) assert.fail(`no "${want}" in the task's logs: ${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const first = await logsOf("mode 400");
  assert.equal(first.split(sha(one)).length - 1, 2, `env and file both hold the value: ${first}`);
  const firstBoxed = await logsOf("mode 400", "sec-box");
  assert.equal(firstBoxed.split(sha(one)).length - 1, 2, `sandboxed: env and file both hold the value: ${firstBoxed}`);

  // Nothing in the agent's data dir holds the value, in clear or base64 (attempt.json, the sandbox's
  // config.json, work/secrets were the places before).
  const b64one = Buffer.from(one).toString("base64");
  const holding: string[] = [];
  const walk = (p: string): void => {
    const st = fs.lstatSync(p);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    else if (st.isFile()) {
      const bytes = fs.readFileSync(p);
      if (bytes.includes(one) || bytes.includes(b64one)) holding.push(p);
    }
  };
  walk(sa.agentDir);
  assert.deepEqual(holding, [], "files of the agent's data dir holding the secret");
  // `tiffin exec` into the plain task still sees its secret env var (read from the running task).
  const exec = await (await sa.api("/v1/tasks/sec/0/exec", { method: "POST", body: JSON.stringify({ command: ["sh", "-c", 'printf "%s" "$DB_PASSWORD" | sha256sum'] }) })).text();
  const out = exec.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { type: string; data?: string }).filter((f) => f.type === "stdout").map((f) => Buffer.from(f.data ?? "", "base64").toString("utf8")).join("");
  assert.ok(out.startsWith(sha(one)), `exec's env has the secret: ${out}`);

  // The value is in no answer, no log, no saved assignment, and only sealed in the store.
  const answers = await Promise.all(["/v1/jobs/sec", "/v1/jobs/sec/versions", "/v1/jobs/sec/versions/1", "/v1/jobs", "/v1/audit", "/v1/secrets", "/v1/jobs/sec/rollouts"].map(async (p) => `${p}: ${await (await sa.api(p)).text()}`));
  const b64 = Buffer.from(one).toString("base64");
  for (const text of [...answers, first]) for (const needle of [one, b64]) assert.ok(!text.includes(needle), `the value in ${text.slice(0, 200)}`);
  assert.match(answers[1] ?? "", /"secretVersions":\{"default\/db":1\}/);
  const serverDir = path.join(sa.root, "server");
  for (const f of fs.readdirSync(serverDir)) {
    const bytes = fs.readFileSync(path.join(serverDir, f));
    assert.ok(!bytes.includes(one) && !bytes.includes(b64), `the value in clear in ${f}`);
  }
  const attempts = path.join(sa.agentDir, "attempts");
  for (const dir of fs.readdirSync(attempts)) {
    const saved = path.join(attempts, dir, "assignment.json");
    if (fs.existsSync(saved)) assert.ok(!fs.readFileSync(saved, "utf8").includes(b64), `assignment.json of ${dir}`);
  }
  // On the tmpfs while the tasks run: their secret files (read again at will), but no longer the
  // sandbox's config.json with the env (the runtime read it at the start and keeps its own state).
  const onTmpfs = fs.readdirSync(attempts).map((id) => secretsDirOf(defaultSecretsRoot(), path.join(attempts, id))).filter((d) => fs.existsSync(d));
  assert.equal(onTmpfs.length, 2, "the running attempts' tmpfs dirs");
  for (const d of onTmpfs) {
    assert.deepEqual(fs.readdirSync(d).sort(), ["files"], `what ${d} holds while its task runs`);
    assert.equal(fs.readFileSync(path.join(d, "files", "db.pw"), "utf8"), one);
  }

  // rm is refused while the job uses it; a new value rolls the job to version 2, whose task sees it.
  const rm = await sa.api("/v1/secrets/default/db", { method: "DELETE" });
  assert.equal(rm.status, 409);
  assert.match(await rm.text(), /secret default\/db is used by jobs sec, sec-box/);
  assert.equal((await put(two)).status, 200);
  const versions = (await (await sa.api("/v1/jobs/sec/versions")).json()) as { version: number; message: string | null }[];
  assert.deepEqual(versions.map((v) => [v.version, v.message]).at(-1), [2, "secret default/db set to version 2"]);
  const second = await logsOf(sha(two));
  assert.ok(!second.includes(two));
  const audit = await (await sa.api("/v1/audit")).text();
  assert.match(audit, /set secret default\/db \(version 2\); rolled .*sec@2/);
  // The first attempts' tmpfs dirs went with them (each task ended when the rotation replaced it).
  assert.ok(!(await logsOf(sha(two), "sec-box")).includes(two));
  // This agent's attempts' dirs only (other test runs may have left theirs).
  const holdingOne = (): string[] => fs.readdirSync(attempts).map((id) => secretsDirOf(defaultSecretsRoot(), path.join(attempts, id))).filter((d) => {
    try {
      return fs.readFileSync(path.join(d, "files", "db.pw"), "utf8") === one;
    } catch {
      return false;
    }
  });
  for (let i = 0; i < 100 && holdingOne().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(holdingOne(), [], `tmpfs dirs still holding the first value: ${JSON.stringify(await Promise.all(["sec", "sec-box"].map(async (j) => (await (await sa.api(`/v1/jobs/${j}`)).json()) as unknown)))}`);
  assert.ok(!audit.includes(two) && !audit.includes(one));
});
