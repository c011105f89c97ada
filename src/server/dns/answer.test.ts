import { test } from "node:test";
import assert from "node:assert/strict";
import type { Endpoint } from "../../model/index.ts";
import { answerQuestion, parseZoneName } from "./answer.ts";
import type { EndpointLookup } from "./answer.ts";

const ep = (index: number, address: string, port: number): Endpoint => ({
  service: "web", job: "web", index, version: 1, attemptId: `a${index}`, hostId: "h", host: "alpha", address,
  ports: [{ name: "http", port }, { name: "admin", port: port + 1 }], state: "healthy", labels: {}, since: 0,
});
const services: Record<string, Endpoint[]> = {
  web: [ep(0, "10.0.0.1", 8000), ep(1, "fd00::2", 9000), ep(2, "alpha.example", 7000)],
  idle: [],
  // The same name in namespace team-a (its id, model/namespace.ts).
  "web.team-a": [{ ...ep(0, "10.0.0.9", 8500), service: "web.team-a", job: "web.team-a" }],
};
const lookup: EndpointLookup = (s) => services[s] ?? null;
const keep = <T>(xs: T[]): T[] => xs;
const ask = (name: string, type: string) => answerQuestion({ name, type }, lookup, keep);
const datas = (a: ReturnType<typeof ask>): unknown[] => a.answers.map((r) => r.data);

void test("parseZoneName", () => {
  const cases: [string, ReturnType<typeof parseZoneName>][] = [
    ["web.service.tiffin", { service: "web", index: null, port: null }],
    ["WEB.Service.Tiffin.", { service: "web", index: null, port: null }],
    ["3.web.service.tiffin", { service: "web", index: 3, port: null }],
    ["_http._tcp.web.service.tiffin", { service: "web", index: null, port: "http" }],
    ["example.com", "outside"],
    ["service.tiffin", "outside"],
    ["a.b.c.web.service.tiffin", "invalid"],
    ["a..service.tiffin", "invalid"],
    // A service of namespace NS is NAME.NS (issue 17): every form takes it.
    ["web.team-a.service.tiffin", { service: "web.team-a", index: null, port: null }],
    ["2.web.team-a.service.tiffin", { service: "web.team-a", index: 2, port: null }],
    ["_http._tcp.web.0ps.service.tiffin", { service: "web.0ps", index: null, port: "http" }],
    ["1.x.web.team-a.service.tiffin", "invalid"],
  ];
  for (const [name, want] of cases) assert.deepEqual(parseZoneName(name), want, name);
});

void test("answerQuestion: records and codes by question", () => {
  assert.deepEqual(datas(ask("web.service.tiffin", "A")), ["10.0.0.1"]);
  assert.deepEqual(datas(ask("web.service.tiffin", "AAAA")), ["fd00::2"]);
  assert.deepEqual(datas(ask("web.service.tiffin", "SRV")), [
    { priority: 1, weight: 1, port: 8000, target: "0.web.service.tiffin" },
    { priority: 1, weight: 1, port: 9000, target: "1.web.service.tiffin" },
    { priority: 1, weight: 1, port: 7000, target: "alpha.example" },
  ]);
  assert.deepEqual(ask("web.service.tiffin", "SRV").additionals.map((r) => [r.name, r.type, r.data]), [["0.web.service.tiffin", "A", "10.0.0.1"], ["1.web.service.tiffin", "AAAA", "fd00::2"]]);
  assert.deepEqual(datas(ask("1.web.service.tiffin", "AAAA")), ["fd00::2"]);
  assert.deepEqual(datas(ask("0.web.service.tiffin", "SRV")), [{ priority: 1, weight: 1, port: 8000, target: "0.web.service.tiffin" }]);
  assert.deepEqual(datas(ask("_admin._tcp.web.service.tiffin", "SRV")).map((d) => (d as { port: number }).port), [8001, 9001, 7001]);
  assert.equal(ask("web.service.tiffin", "A").answers[0]?.ttl, 1);
  // Namespaces: NAME.NS, with its tasks and ports below it, apart from the default namespace's NAME.
  assert.deepEqual(datas(ask("web.team-a.service.tiffin", "A")), ["10.0.0.9"]);
  assert.deepEqual(datas(ask("web.team-a.service.tiffin", "SRV")), [{ priority: 1, weight: 1, port: 8500, target: "0.web.team-a.service.tiffin" }]);
  assert.deepEqual(datas(ask("0.web.team-a.service.tiffin", "A")), ["10.0.0.9"]);
  assert.deepEqual(datas(ask("_admin._tcp.web.team-a.service.tiffin", "SRV")).map((d) => (d as { port: number }).port), [8501]);
  assert.equal(ask("web.team-b.service.tiffin", "A").rcode, "NXDOMAIN");
  const codes: [string, string, string, number][] = [
    ["nope.service.tiffin", "A", "NXDOMAIN", 0],
    ["9.web.service.tiffin", "A", "NXDOMAIN", 0],
    ["_nope._tcp.web.service.tiffin", "SRV", "NXDOMAIN", 0],
    ["x.y.z.web.service.tiffin", "A", "NXDOMAIN", 0],
    ["example.com", "A", "REFUSED", 0],
    ["idle.service.tiffin", "A", "NOERROR", 0],
    ["idle.service.tiffin", "SRV", "NOERROR", 0],
    ["web.service.tiffin", "TXT", "NOERROR", 0],
    ["web.service.tiffin", "ANY", "NOERROR", 2],
  ];
  for (const [name, type, rcode, n] of codes) {
    const a = ask(name, type);
    assert.deepEqual([a.rcode, a.answers.length], [rcode, n], `${name} ${type}`);
  }
});

void test("answerQuestion: endpoints come shuffled", () => {
  const orders = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const a = answerQuestion({ name: "web.service.tiffin", type: "SRV" }, lookup, (xs) => xs.reverse());
    orders.add(JSON.stringify(datas(a)));
  }
  assert.equal(orders.size, 1);
  assert.equal((datas(answerQuestion({ name: "web.service.tiffin", type: "SRV" }, lookup, (xs) => xs.reverse()))[0] as { port: number }).port, 7000);
});
