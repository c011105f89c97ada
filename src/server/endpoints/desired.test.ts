import { test } from "node:test";
import assert from "node:assert/strict";
import type { Attempt, Endpoint, Host, HostStatus, JobSpec } from "../../model/index.ts";
import { addressHost } from "../../model/index.ts";
import { desiredEndpoint, sameEndpoint } from "./desired.ts";
import type { EndpointInput } from "./desired.ts";

const attempt: Attempt = {
  id: "a1", job: "web", index: 2, version: 3, hostId: "h1", desired: "run", createdAt: 1, startAfter: 0,
  state: "healthy", pid: 10, exitCode: null, signal: null, reason: null, ports: { http: 20001, admin: 20002 }, startedAt: 2, endedAt: null,
};
const host: Host = {
  id: "h1", name: "alpha", address: "10.0.0.7:7071", labels: { rack: "r1" }, draining: false, cores: 2, memoryMiB: 1024, diskMiB: 1024,
  os: { id: "debian", version: "13" }, kernel: "6.1", runtime: "crun", domain: { region: "x", datacenter: "d", cluster: "c", rack: "r1" }, registeredAt: 1,
};
const spec = { ports: ["http", "admin"], health: { kind: "http", port: "http", path: "/", intervalMs: 1000, timeoutMs: 500, failures: 3, graceMs: 0, action: "restart" } } as JobSpec;
const noCheck = { ...spec, health: null } as JobSpec;
const base: EndpointInput = {
  job: { name: "web", version: 3, removedAt: null, updatedAt: 1 },
  task: { job: "web", index: 2, version: 3, hostId: "h1", attemptId: "a1", failures: 0, avoidHosts: [], unplacedReason: null },
  spec, attempt, host, hostStatus: "up", since: 5,
};

const cases: { name: string; input: Partial<EndpointInput>; want: string }[] = [
  { name: "healthy task on an up host", input: {}, want: "healthy" },
  { name: "running, no health check", input: { spec: noCheck, attempt: { ...attempt, state: "running" } }, want: "running" },
  { name: "running, health check not passed yet", input: { attempt: { ...attempt, state: "running" } }, want: "not serving" },
  { name: "failed health check", input: { attempt: { ...attempt, state: "unhealthy" } }, want: "unhealthy" },
  { name: "planned stop (rollout, drain, scale down)", input: { attempt: { ...attempt, desired: "stop" } }, want: "stopping" },
  { name: "exited", input: { attempt: { ...attempt, state: "exited" } }, want: "not serving" },
  { name: "failed", input: { attempt: { ...attempt, state: "failed" } }, want: "not serving" },
  { name: "lost", input: { attempt: { ...attempt, state: "lost" } }, want: "not serving" },
  { name: "starting", input: { attempt: { ...attempt, state: "starting" } }, want: "not serving" },
  { name: "host suspect", input: { hostStatus: "suspect" as HostStatus }, want: "host not up" },
  { name: "host down", input: { hostStatus: "down" as HostStatus }, want: "host not up" },
  { name: "host upgrading its agent (tasks keep running)", input: { hostStatus: "upgrading" as HostStatus }, want: "healthy" },
  { name: "an older attempt than the task's current one", input: { task: { ...base.task, attemptId: "a2" } }, want: "no attempt" },
  { name: "no attempt", input: { attempt: null }, want: "no attempt" },
  { name: "unplaced", input: { task: { ...base.task, hostId: null } }, want: "not placed" },
  { name: "job removed", input: { job: { name: "web", version: 3, removedAt: 9, updatedAt: 9 } }, want: "job removed" },
  { name: "a job with no ports", input: { spec: { ...spec, ports: [] } as JobSpec }, want: "no ports" },
  { name: "ports not reported yet", input: { attempt: { ...attempt, ports: { http: 1 } } }, want: "ports unknown" },
  { name: "host record gone", input: { host: null }, want: "host unknown" },
];

void test("desiredEndpoint: which tasks are endpoints", () => {
  for (const c of cases) {
    const d = desiredEndpoint({ ...base, ...c.input });
    assert.equal(d.ok ? d.endpoint.state : d.reason, c.want, c.name);
  }
});

void test("desiredEndpoint: the endpoint carries host address, ports in spec order, index, version", () => {
  const d = desiredEndpoint(base);
  assert.ok(d.ok);
  assert.deepEqual(d.endpoint, {
    service: "web", job: "web", index: 2, version: 3, attemptId: "a1", hostId: "h1", host: "alpha", address: "10.0.0.7",
    ports: [{ name: "http", port: 20001 }, { name: "admin", port: 20002 }], state: "healthy", labels: { rack: "r1" }, since: 5,
  });
});

void test("addressHost", () => {
  for (const [input, want] of [["10.0.0.7:7071", "10.0.0.7"], ["[fd00::1]:7071", "fd00::1"], ["alpha:7071", "alpha"], ["fd00::1", "fd00::1"], ["alpha", "alpha"]] as const) {
    assert.equal(addressHost(input), want, input);
  }
});

void test("desiredEndpoint: a named service lists its own name and port only", () => {
  const d = desiredEndpoint({ ...base, offer: { name: "web-admin", ports: ["admin"] } });
  assert.ok(d.ok);
  assert.deepEqual([d.endpoint.service, d.endpoint.job, d.endpoint.ports], ["web-admin", "web", [{ name: "admin", port: 20002 }]]);
});

void test("sameEndpoint: any listed field differs, a rewrite; `since` alone, none (table)", () => {
  const d = desiredEndpoint(base);
  assert.ok(d.ok);
  const ep = d.endpoint;
  const cases: { name: string; other: Endpoint; same: boolean }[] = [
    { name: "the same", other: { ...ep, ports: ep.ports.map((p) => ({ ...p })), labels: { ...ep.labels } }, same: true },
    { name: "since only", other: { ...ep, since: 99 }, same: true },
    { name: "a port number", other: { ...ep, ports: [{ name: "http", port: 20009 }, { name: "admin", port: 20002 }] }, same: false },
    { name: "a port name", other: { ...ep, ports: [{ name: "web", port: 20001 }, { name: "admin", port: 20002 }] }, same: false },
    { name: "a port fewer", other: { ...ep, ports: [{ name: "http", port: 20001 }] }, same: false },
    { name: "ports in another order", other: { ...ep, ports: [...ep.ports].reverse() }, same: false },
    { name: "a label value", other: { ...ep, labels: { rack: "r2" } }, same: false },
    { name: "a label more", other: { ...ep, labels: { rack: "r1", zone: "z" } }, same: false },
    { name: "labels gone", other: { ...ep, labels: {} }, same: false },
    { name: "a label renamed", other: { ...ep, labels: { zone: "r1" } }, same: false },
    { name: "state", other: { ...ep, state: "running" }, same: false },
    { name: "attempt", other: { ...ep, attemptId: "a2" }, same: false },
    { name: "address", other: { ...ep, address: "10.0.0.8" }, same: false },
    { name: "version", other: { ...ep, version: 4 }, same: false },
  ];
  for (const c of cases) {
    assert.equal(sameEndpoint(ep, c.other), c.same, c.name);
    assert.equal(sameEndpoint(c.other, ep), c.same, `${c.name} (the other way)`);
  }
});
