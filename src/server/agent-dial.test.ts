// How the server dials agents (agent-dial.ts): the scheme, and which certificate an agent must present.
import assert from "node:assert/strict";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import type { TLSSocket } from "node:tls";
import { newKeyAndCsr } from "../api/tls.ts";
import { AgentDial, agentIdentityProblem } from "./agent-dial.ts";
import { caOf, createCa, issueServerCert, signHostCsr } from "./tls/ca.ts";

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

void test("over real TLS: the agent's certificate must be the host's meant, for the address dialled, and the server presents its own", async (t) => {
  const ca = await caOf(await createCa(Date.now()), "test CA");
  const server = await issueServerCert(ca, ["127.0.0.1"], Date.now());
  const { keyPem, csrPem } = await newKeyAndCsr("ignored");
  const hostCert = await signHostCsr(ca, csrPem, "h-1", Date.now(), 60_000, ["127.0.0.1"]);
  let seenClient = "";
  const agent = https.createServer({ cert: hostCert, key: keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const s = req.socket as TLSSocket;
    seenClient = s.authorized ? String(s.getPeerCertificate().subject?.O) : "none";
    res.end("ok");
  });
  await new Promise<void>((r) => agent.listen(0, "127.0.0.1", r));
  const dial = new AgentDial({ ca: ca.certPem, cert: server.certPem, key: server.keyPem });
  t.after(() => {
    dial.close();
    agent.closeAllConnections();
    agent.close();
  });
  const address = `127.0.0.1:${(agent.address() as AddressInfo).port}`;
  const r = await dial.fetch("h-1")(dial.url(address, "/v1/logs/a"));
  assert.equal(await r.text(), "ok");
  assert.equal(seenClient, "tiffin server", "the server's certificate was presented and verified");
  await assert.rejects(dial.fetch("h-2")(dial.url(address, "/v1/logs/a")), (err: Error) => /not of host h-2/.test(String((err.cause as Error | undefined)?.message)), "another host's agent at that address is refused");
});
