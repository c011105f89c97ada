// Named services and the server's check of service dependencies (issue 15), against a real server
// (SQLite, HTTP, DNS over UDP) with a fake agent that reports its tasks: a job offering two services
// by port name has one endpoint per service with that service's port, its own DNS name and SRV
// record; a service name another job already offers is refused at apply naming both jobs; `uses` is
// checked by the server at apply (a missing service at its field path, a cycle named), not only by
// the CLI's plan, and at a revert; the server's plan refuses what its apply refuses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import type { Endpoint, JobSpec, ServiceSummary } from "../../model/index.ts";
import { specOf } from "../testing/fixtures.ts";
import { call, eventually, FakeAgent, startTestServer } from "../testing/harness.ts";

const app = specOf({ name: "app", ports: ["http", "admin"], services: { api: "http", "app-admin": "admin" } });

/** The code, message and problems of a refused apply. */
interface Refusal {
  error?: { code?: string; message?: string; problems?: { path?: string; message?: string }[] };
}

void test("named services: endpoints, DNS and SRV per service; clashes, missing services and cycles refused at apply", async (t) => {
  const ts = await startTestServer({ dnsListen: "127.0.0.1:0" });
  t.after(() => ts.cleanup());
  const { url, adminToken, joinToken } = ts.server;
  const agent = new FakeAgent(url, "a");
  await agent.register(joinToken);
  await agent.heartbeat();
  const beat = setInterval(() => void agent.heartbeat().catch(() => undefined), 300);
  t.after(() => clearInterval(beat));
  const apply = (spec: JobSpec): Promise<{ status: number; body: unknown }> => call(url, "POST", "/v1/jobs", adminToken, { spec });

  assert.equal((await apply(app)).status, 200);
  const assigned = agent.assignments();
  t.after(() => assigned.close());
  const a = await eventually("app/0 assigned", () => assigned.latest()?.find((x) => x.attempt.job === "app"));
  await agent.report([{ id: a.attempt.id, state: "running", pid: 10, startedAt: Date.now(), ports: { http: 20001, admin: 20002 } }]);

  // Each service lists the task once, with its own port.
  const api = await eventually("api has its endpoint", async () => {
    const r = await call(url, "GET", "/v1/services/api/endpoints", adminToken);
    return r.status === 200 && (r.body as Endpoint[]).length === 1 ? (r.body as Endpoint[]) : null;
  });
  assert.deepEqual(api.map((e) => [e.service, e.job, e.index, e.ports]), [["api", "app", 0, [{ name: "http", port: 20001 }]]]);
  const admin = await eventually("app-admin has its endpoint", async () => {
    const r = await call(url, "GET", "/v1/services/app-admin/endpoints", adminToken);
    return r.status === 200 && (r.body as Endpoint[]).length === 1 ? (r.body as Endpoint[]) : null;
  });
  assert.deepEqual(admin.map((e) => [e.service, e.ports]), [["app-admin", [{ name: "admin", port: 20002 }]]]);
  assert.equal((await call(url, "GET", "/v1/services/app/endpoints", adminToken)).status, 404, "the job's own name is no service when it names its services");
  const services = (await call(url, "GET", "/v1/services", adminToken)).body as ServiceSummary[];
  assert.deepEqual(services.map((s) => [s.name, s.job, s.endpoints, s.ports]), [["api", "app", 1, ["http"]], ["app-admin", "app", 1, ["admin"]]]);

  // DNS through a real resolver (c-ares): each name answers with its own port.
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([ts.server.dns ?? ""]);
  assert.deepEqual((await resolver.resolveSrv("api.service.tiffin")).map((r) => [r.port, r.name]), [[20001, "0.api.service.tiffin"]]);
  assert.deepEqual((await resolver.resolveSrv("app-admin.service.tiffin")).map((r) => r.port), [20002]);
  assert.equal((await resolver.resolve4("api.service.tiffin")).length, 1);
  await assert.rejects(resolver.resolve4("app.service.tiffin"), { code: "ENOTFOUND" }, "NXDOMAIN for the job's own name");

  // The agents' stream of a service's endpoints lists that service's only, then streams its changes
  // (the task failing its check: both services lose it, the stream says so for api alone).
  const stream = await fetch(`${url}/v1/agent/endpoints?service=api`, { headers: { authorization: `Bearer ${agent.reg?.hostToken ?? ""}` } });
  const reader = stream.body?.getReader();
  let text = "";
  const readUntil = async (what: string): Promise<void> => {
    const deadline = AbortSignal.timeout(10_000);
    while (!text.includes(what) && reader && !deadline.aborted) text += new TextDecoder().decode((await reader.read()).value);
  };
  await readUntil("event: bookmark");
  assert.match(text, /"service":"api"/);
  assert.doesNotMatch(text, /"service":"app-admin"/);
  await agent.report([{ id: a.attempt.id, state: "unhealthy", pid: 10, startedAt: Date.now(), ports: { http: 20001, admin: 20002 } }]);
  await readUntil("event: removed");
  assert.match(text, /event: removed\n(id: \d+\n)?data: \{"type":"removed","kind":"endpoint","name":"api\/0"/);
  await agent.report([{ id: a.attempt.id, state: "running", pid: 10, startedAt: Date.now(), ports: { http: 20001, admin: 20002 } }]);
  await readUntil('"type":"added","kind":"endpoint","name":"api/0"');
  await reader?.cancel();
  assert.doesNotMatch(text, /app-admin/, "nothing of the other service");
  await eventually("both services serve again", async () => ((await call(url, "GET", "/v1/services", adminToken)).body as ServiceSummary[]).every((s) => s.endpoints === 1));

  // A service name offered twice across jobs: refused, both jobs named.
  const clash = await apply(specOf({ name: "other", ports: ["http"], services: { api: "http" } }));
  assert.equal(clash.status, 422, JSON.stringify(clash.body));
  assert.equal((clash.body as Refusal).error?.code, "TIFFIN_SPEC_INVALID");
  assert.match((clash.body as Refusal).error?.message ?? "", /service "api" of job "other" is already offered by job "app"/);
  assert.deepEqual((clash.body as Refusal).error?.problems?.map((p) => p.path), ["services.api"]);
  const byJobName = await apply(specOf({ name: "api", ports: ["http"] }));
  assert.equal(byJobName.status, 422, "a job named after another job's service offers the same name");
  assert.match((byJobName.body as Refusal).error?.message ?? "", /service "api" of job "api" is already offered by job "app"/);
  // A plan answers what the apply would: the same refusal, message and problems.
  const planned = (await call(url, "POST", "/v1/plan", adminToken, { spec: specOf({ name: "api", ports: ["http"] }) })) as { status: number; body: Refusal };
  assert.equal(planned.status, 422, JSON.stringify(planned.body));
  assert.deepEqual(planned.body.error, (byJobName.body as Refusal).error);
  assert.equal((await apply({ ...app, replicas: 2 })).status, 200, "the job that offers it may change");

  // `uses`, checked by the server at apply.
  const missing = (await apply(specOf({ name: "client", uses: [{ service: "nope", min: 1 }] }))) as { status: number; body: Refusal };
  assert.equal(missing.status, 422);
  assert.equal(missing.body.error?.code, "TIFFIN_SPEC_INVALID");
  assert.deepEqual(missing.body.error?.problems?.map((p) => p.path), ["uses[0]"]);
  assert.match(missing.body.error?.problems?.[0]?.message ?? "", /"nope", which does not exist/);
  // A plan sees one job of a file at a time: a service not offered yet may be the file's next job's
  // (the CLI checks the file's uses together), so the plan answers; the apply refuses it above.
  const planMissing = await call(url, "POST", "/v1/plan", adminToken, { spec: specOf({ name: "client", uses: [{ service: "nope", min: 1 }] }) });
  assert.equal(planMissing.status, 200, JSON.stringify(planMissing.body));
  const notAService = (await apply(specOf({ name: "client", uses: [{ service: "app", min: 1 }] }))) as { status: number; body: Refusal };
  assert.equal(notAService.status, 422, "a job that names its services offers none under its own name");
  assert.equal((await apply(specOf({ name: "client", ports: ["http"], uses: [{ service: "api", min: 1 }] }))).status, 200, "a named service may be used");
  const cycle = (await apply({ ...app, uses: [{ service: "client", min: 1 }] })) as { status: number; body: Refusal };
  assert.equal(cycle.status, 422);
  assert.match(cycle.body.error?.problems?.[0]?.message ?? "", /cycle: app -> client -> app/);
  assert.deepEqual(cycle.body.error?.problems?.map((p) => p.path), ["uses[0]"]);
  const self = (await apply(specOf({ name: "solo", ports: ["http"], uses: [{ service: "solo", min: 1 }] }))) as { status: number; body: Refusal };
  assert.match(self.body.error?.problems?.[0]?.message ?? "", /cycle: solo -> solo/);

  // A revert stores an older spec: the same check, so it cannot take back a name another job took since.
  assert.equal((await apply(specOf({ name: "x", ports: ["http"], services: { svc: "http" } }))).status, 200);
  assert.equal((await apply(specOf({ name: "x", ports: ["http"], services: { "svc-two": "http" } }))).status, 200);
  assert.equal((await apply(specOf({ name: "y", ports: ["http"], services: { svc: "http" } }))).status, 200);
  const revert = (await call(url, "POST", "/v1/jobs/x/revert", adminToken, { version: 1 })) as { status: number; body: Refusal };
  assert.equal(revert.status, 422, JSON.stringify(revert.body));
  assert.match(revert.body.error?.message ?? "", /service "svc" of job "x" is already offered by job "y"/);
});
