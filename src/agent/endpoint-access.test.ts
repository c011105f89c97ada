// The agent endpoint's access table (endpoint-access.ts): who may call what under TLS, by cases.
import assert from "node:assert/strict";
import { test } from "node:test";
import { endpointAccess, endpointRouteOf } from "./endpoint-access.ts";
import type { EndpointCaller, EndpointRoute } from "./endpoint-access.ts";

const server: EndpointCaller = { kind: "server" };
const host: EndpointCaller = { kind: "host", hostId: "h-2" };
const none: EndpointCaller = { kind: "none" };

void test("the agent endpoint's access under TLS: servers for logs and exec, hosts for pieces only, /metrics for the bearer alone", () => {
  const cases: { name: string; tls: boolean; route: EndpointRoute; caller: EndpointCaller; want: number | null }[] = [
    { name: "a server reads logs", tls: true, route: "logs", caller: server, want: null },
    { name: "a server runs exec", tls: true, route: "exec", caller: server, want: null },
    { name: "a server fetches pieces", tls: true, route: "pieces", caller: server, want: null },
    { name: "a peer fetches pieces", tls: true, route: "pieces", caller: host, want: null },
    { name: "a peer's certificate reads no logs", tls: true, route: "logs", caller: host, want: 403 },
    { name: "a peer's certificate runs no exec", tls: true, route: "exec", caller: host, want: 403 },
    { name: "no certificate: no logs", tls: true, route: "logs", caller: none, want: 401 },
    { name: "no certificate: no exec", tls: true, route: "exec", caller: none, want: 401 },
    { name: "no certificate: no pieces", tls: true, route: "pieces", caller: none, want: 401 },
    { name: "/metrics needs no certificate (the host token is checked after)", tls: true, route: "metrics", caller: none, want: null },
    { name: "plain HTTP cluster: the bearer checks alone", tls: false, route: "exec", caller: none, want: null },
  ];
  for (const c of cases) assert.equal(endpointAccess(c.tls, c.route, c.caller)?.status ?? null, c.want, c.name);
  assert.match(endpointAccess(true, "logs", host)?.message ?? "", /certificate of host h-2 may not read logs/);
});

void test("the agent endpoint's routes", () => {
  const hash = "a".repeat(64);
  const cases: { method: string; path: string; want: EndpointRoute | null }[] = [
    { method: "GET", path: `/v1/pieces/${hash}`, want: "pieces" },
    { method: "GET", path: "/v1/pieces/short", want: null },
    { method: "GET", path: "/v1/logs/a-1", want: "logs" },
    { method: "POST", path: "/v1/exec/a-1", want: "exec" },
    { method: "GET", path: "/v1/exec/a-1", want: null },
    { method: "GET", path: "/metrics", want: "metrics" },
    { method: "GET", path: "/v1/other", want: null },
  ];
  for (const c of cases) assert.equal(endpointRouteOf(c.method, c.path), c.want, `${c.method} ${c.path}`);
});
