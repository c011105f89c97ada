import assert from "node:assert/strict";
import { test } from "node:test";
import { decompileJob } from "./decompile.ts";
import { useGraph } from "./uses.ts";
import type { UseNode } from "./uses.ts";
import { compileJobs } from "./validate.ts";

/** A job: `offers` true is its own service, false none, a list its named services. */
const node = (name: string, uses: string[], path: string | null = `jobs[${name}]`, offers: boolean | string[] = true): UseNode => ({
  name, services: offers === true ? [name] : offers === false ? [] : offers, named: Array.isArray(offers), uses: uses.map((service) => ({ service, min: 1 })), path,
});

void test("useGraph: start order, missing services, clashing service names and cycles (table)", () => {
  const cases: { name: string; planned: UseNode[]; cluster?: UseNode[]; order?: string[][]; problems?: { path: string; message: RegExp }[] }[] = [
    { name: "no dependencies: one layer", planned: [node("b", []), node("a", [])], order: [["a", "b"]] },
    { name: "a chain in any file order", planned: [node("web", ["api"]), node("api", ["cache"]), node("cache", [])], order: [["cache"], ["api"], ["web"]] },
    { name: "a service already in the cluster", planned: [node("web", ["cache"])], cluster: [node("cache", [], null)], order: [["web"]] },
    { name: "through the cluster", planned: [node("web", ["api"]), node("db", [])], cluster: [node("api", ["db"], null)], order: [["db"], ["web"]] },
    { name: "missing", planned: [node("web", ["cach"], "jobs[0]")], problems: [{ path: "jobs[0].uses[0]", message: /uses service "cach", which does not exist/ }] },
    { name: "missing, single job file", planned: [node("web", ["x", "cache"], "")], cluster: [node("cache", [], null)], problems: [{ path: "uses[0]", message: /"x", which does not exist/ }] },
    { name: "offers no service", planned: [node("web", ["batch"], "jobs[0]"), node("batch", [], "jobs[1]", false)], problems: [{ path: "jobs[0].uses[0]", message: /offers no service: it names no ports/ }] },
    { name: "itself", planned: [node("a", ["a"], "")], problems: [{ path: "uses[0]", message: /cycle: a -> a/ }] },
    { name: "a cycle in the file", planned: [node("a", ["b"], "jobs[0]"), node("b", ["c"], "jobs[1]"), node("c", ["a"], "jobs[2]")], problems: [{ path: "jobs[0].uses[0]", message: /cycle: a -> b -> c -> a/ }] },
    { name: "a cycle closed by the cluster", planned: [node("a", ["b"], "")], cluster: [node("b", ["a"], null)], problems: [{ path: "uses[0]", message: /cycle: a -> b -> a/ }] },
    { name: "a named service", planned: [node("web", ["api"], "jobs[0]"), node("app", [], "jobs[1]", ["api", "app-admin"])], order: [["app"], ["web"]] },
    { name: "a job naming its services offers none of its own name", planned: [node("web", ["app"], "")], cluster: [node("app", [], null, ["api"])], problems: [{ path: "uses[0]", message: /uses "app", which offers no service of that name: it offers api/ }] },
    { name: "a clash with the cluster", planned: [node("other", [], "", ["api"])], cluster: [node("app", [], null, ["api"])], problems: [{ path: "services.api", message: /service "api" of job "other" is already offered by job "app"/ }] },
    { name: "a job named after a cluster job's service", planned: [node("api", [], "")], cluster: [node("app", [], null, ["api"])], problems: [{ path: "name", message: /service "api" of job "api" is already offered by job "app"/ }] },
    { name: "a clash in the file", planned: [node("a", [], "jobs[0]", ["x"]), node("b", [], "jobs[1]", ["x"])], problems: [{ path: "jobs[1].services.x", message: /service "x" of job "b" is already offered by job "a"/ }] },
    { name: "a job replacing itself keeps its names", planned: [node("app", [], "", ["api"])], cluster: [node("app", [], null, ["api"])], order: [["app"]] },
    { name: "a cycle through a named service", planned: [node("a", ["svc-b"], "jobs[0]"), node("b", ["a"], "jobs[1]", ["svc-b"])], problems: [{ path: "jobs[0].uses[0]", message: /cycle: a -> b -> a/ }] },
    { name: "the plan replaces a cluster job's uses (cycle gone)", planned: [node("b", [], "jobs[0]"), node("a", ["b"], "jobs[1]")], cluster: [node("b", ["a"], null)], order: [["b"], ["a"]] },
  ];
  for (const c of cases) {
    const g = useGraph(c.planned, c.cluster ?? [], "t.ts");
    if (c.order) {
      assert.ok(g.ok, `${c.name}: ${JSON.stringify(g)}`);
      assert.deepEqual(g.order, c.order, c.name);
    } else {
      assert.ok(!g.ok, c.name);
      assert.equal(g.problems.length, c.problems?.length, `${c.name}: ${JSON.stringify(g.problems)}`);
      g.problems.forEach((p, i) => {
        assert.equal(p.path, c.problems?.[i]?.path, c.name);
        assert.match(p.message, c.problems?.[i]?.message ?? /./, c.name);
        assert.equal(p.file, "t.ts");
      });
    }
  }
});

void test("uses compiles from both forms, round-trips, and is refused where wrong", () => {
  const base = { name: "web", command: ["true"] };
  const ok = compileJobs({ ...base, uses: ["cache", { service: "db", min: 2 }, { service: "q" }] }, "t.ts");
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(ok.specs[0]?.uses, [{ service: "cache", min: 1 }, { service: "db", min: 2 }, { service: "q", min: 1 }]);
  const spec = ok.specs[0];
  assert.ok(spec);
  assert.deepEqual(compileJobs(decompileJob(spec), null).specs[0], spec);
  assert.equal(compileJobs(base, null).specs[0]?.uses, undefined, "absent when none: older specs compile unchanged");
  const bad = compileJobs({ ...base, uses: ["cache", "cache", "Bad!", { service: "x", min: -1 }] }, "t.ts");
  assert.deepEqual(bad.problems.map((p) => p.path).sort(), ["uses[1]", "uses[2]", "uses[3].min"]);
});

void test("uses with a private network is refused at uses", () => {
  const r = compileJobs({ name: "web", command: ["true"], network: "private", uses: ["cache"] }, "t.ts");
  assert.deepEqual(r.problems.map((p) => p.path), ["uses"]);
  assert.match(r.problems[0]?.message ?? "", /network "private" cannot reach the local service proxies/);
});

void test("services: named by port, compiled only when written, round-trips, refused where wrong", () => {
  const base = { name: "app", command: ["true"], ports: ["http", "admin"] };
  const ok = compileJobs({ ...base, services: { api: "http", "app-admin": "admin" } }, "t.ts");
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(ok.specs[0]?.services, { api: "http", "app-admin": "admin" });
  const spec = ok.specs[0];
  assert.ok(spec);
  assert.deepEqual(compileJobs(decompileJob(spec), null).specs[0], spec);
  assert.equal(compileJobs(base, null).specs[0]?.services, undefined, "absent when not written: one service named after the job");
  const undeclared = compileJobs({ ...base, services: { api: "grpc" } }, "t.ts");
  assert.deepEqual(undeclared.problems.map((p) => p.path), ["services.api"]);
  assert.match(undeclared.problems[0]?.message ?? "", /port "grpc" is not declared in ports/);
  assert.deepEqual(compileJobs({ ...base, services: { "Bad!": "http" } }, "t.ts").problems.map((p) => p.path), ['services["Bad!"]']);
  assert.deepEqual(compileJobs({ ...base, services: {} }, "t.ts").problems.map((p) => p.path), ["services"]);
});
