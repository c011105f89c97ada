// `plan` and `apply`'s check of a file's services against the cluster (issue 15): a table over
// checkUses with the cluster's services as `GET /v1/services` answers them (a plain job offering its
// own name is checked like a named service: refused at the field, both jobs named, as the server's
// apply says it), then `tiffin plan` through bin/tiffin.js against a real server (one CLI run).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { JobSpec, ServiceSummary } from "../model/index.ts";
import { compileJobs } from "../spec/api.ts";
import type { JobInput } from "../spec/index.ts";
import { cliWithServer } from "./real-cli.ts";
import { checkUses } from "./uses-check.ts";

/** Compiled specs of `inputs` (each a small job with the given fields). */
function specs(...inputs: Partial<JobInput>[]): JobSpec[] {
  const { specs: out, problems } = compileJobs(inputs.map((i) => ({ name: "x", command: ["sleep", "inf"], ...i })), null);
  assert.deepEqual(problems, []);
  return out;
}

/** The cluster's services: `api` offered by job "app" (named), `web` by job "web" (plain). */
const cluster: ServiceSummary[] = [{ name: "api", endpoints: 1, ports: ["http"], job: "app" }, { name: "web", endpoints: 2, ports: ["http"] }];

void test("checkUses: a plain job's own service name is checked against the cluster like a named one (table)", async () => {
  const cases: { name: string; specs: JobSpec[]; calls: number; order?: string[][]; problem?: { path: string; message: RegExp } }[] = [
    { name: "a plain job named after another job's service", specs: specs({ name: "api", ports: { http: {} } }), calls: 1, problem: { path: "name", message: /^spec\.ts at name: service "api" of job "api" is already offered by job "app": service names are unique across jobs/ } },
    { name: "the same, second job of a file", specs: specs({ name: "ok", ports: { http: {} } }, { name: "api", ports: { http: {} } }), calls: 1, problem: { path: "jobs[1].name", message: /^spec\.ts at jobs\[1\]\.name: service "api" of job "api" is already offered by job "app"/ } },
    { name: "a plain job changing itself", specs: specs({ name: "web", ports: { http: {} } }), calls: 1, order: [["web"]] },
    { name: "a plain job with a new name", specs: specs({ name: "fresh", ports: { http: {} } }), calls: 1, order: [["fresh"]] },
    { name: "a named service taken", specs: specs({ name: "other", ports: { http: {} }, services: { web: "http" } }), calls: 1, problem: { path: "services.web", message: /service "web" of job "other" is already offered by job "web"/ } },
    { name: "the job that offers a name keeps it", specs: specs({ name: "app", ports: { http: {} }, services: { api: "http" } }), calls: 1, order: [["app"]] },
    { name: "jobs without ports or uses: no call", specs: specs({ name: "api" }, { name: "batch" }), calls: 0, order: [["api", "batch"]] },
  ];
  for (const c of cases) {
    let calls = 0;
    const services = { services: (): Promise<ServiceSummary[]> => (calls++, Promise.resolve(cluster)) };
    const client = { namespace: "default", inNamespace: () => services };
    const got = await checkUses(client, c.specs, "spec.ts").then((order) => ({ order }), (err: unknown) => ({ err: err as { code?: string; message: string; problems?: { path: string }[] } }));
    assert.equal(calls, c.calls, `${c.name}: calls to GET /v1/services`);
    if (c.problem) {
      assert.ok("err" in got, `${c.name}: refused`);
      assert.equal(got.err.code, "TIFFIN_SPEC_INVALID", c.name);
      assert.match(got.err.message, c.problem.message, c.name);
      assert.deepEqual(got.err.problems?.map((p) => p.path), [c.problem.path], c.name);
    } else {
      assert.ok("order" in got, `${c.name}: accepted (${"err" in got ? got.err.message : ""})`);
      assert.deepEqual(got.order, c.order, c.name);
    }
  }
});

void test("tiffin plan refuses a plain job whose name another job offers as a service", async (t) => {
  const { root, server, run } = await cliWithServer(t, "plan-clash");
  const [app] = specs({ name: "app", ports: { http: {} }, services: { api: "http" } });
  const applied = await fetch(`${server.url}/v1/jobs`, { method: "POST", headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" }, body: JSON.stringify({ spec: app }) });
  assert.equal(applied.status, 200, await applied.text());
  fs.writeFileSync(path.join(root, "api.json"), JSON.stringify({ name: "api", command: ["api"], ports: { http: {} }, isolation: "none" }));
  // One CLI run (apply calls the same checkUses before sending: the table above covers it).
  const plan = await run("plan", "api.json");
  assert.equal(plan.code, 2, plan.err);
  assert.match(plan.err, /^error\[TIFFIN_SPEC_INVALID\]: api\.json at name: service "api" of job "api" is already offered by job "app"/);
  assert.equal(plan.out, "", "nothing planned");
});
