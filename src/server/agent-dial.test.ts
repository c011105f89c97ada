// How the server dials agents (agent-dial.ts): the scheme, and which certificate an agent must present.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AgentDial, agentIdentityProblem } from "./agent-dial.ts";

void test("an agent must present its own host's certificate", () => {
  const cases: { name: string; subject: { CN?: unknown; O?: unknown } | undefined; ok: boolean }[] = [
    { name: "the host's own", subject: { CN: "h-1", O: "tiffin host" }, ok: true },
    { name: "another host's (same address, other agent)", subject: { CN: "h-2", O: "tiffin host" }, ok: false },
    { name: "a server's certificate", subject: { CN: "h-1", O: "tiffin server" }, ok: false },
    { name: "no subject", subject: undefined, ok: false },
  ];
  for (const c of cases) assert.equal(agentIdentityProblem("h-1", c.subject) === undefined, c.ok, c.name);
  assert.match(agentIdentityProblem("h-1", { CN: "h-2", O: "tiffin host" }) ?? "", /certificate of host h-2, not of host h-1/);
});

void test("agents are dialled over https exactly when the server has TLS", () => {
  assert.equal(new AgentDial(null).url("10.0.0.5:7071", "/v1/logs/a"), "http://10.0.0.5:7071/v1/logs/a");
  const tls = new AgentDial({ ca: "CA", cert: "CERT", key: "KEY" });
  assert.equal(tls.url("[fd00::5]:7071", "/v1/exec/a"), "https://[fd00::5]:7071/v1/exec/a");
  const o = tls.requestOptions("h-1");
  assert.equal(o.ca, "CA");
  assert.equal(o.cert, "CERT");
  assert.equal(typeof o.checkServerIdentity, "function");
  assert.deepEqual(new AgentDial(null).requestOptions("h-1"), {});
});
