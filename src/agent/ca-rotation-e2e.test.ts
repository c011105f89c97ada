// CA rotation end to end (issue 17): a real server in its own process on loopback with TLS, host
// certificates of 10 minutes (so no renewal comes from their age) and the store read every 200 ms,
// real agents in this process. One cluster for every assertion (the suite's time budget): an agent
// runs a task and reports through rotate -> finish, renewing under the new CA within moments of the
// rotation (told in a heartbeat answer, not at two thirds of its certificate's life) and learning the
// bundle; a host still on the old CA holds the finish up (named) until --force, and its certificate
// is refused after, on a new connection and on a kept-alive one; the servers serve under the new CA
// after finish (no restart) and new work still reaches the agent; a new agent joins with the new
// hash, and one down through the whole rotation comes back with it (a new certificate, its identity
// kept); both steps are audited. The CLI
// (bin/tiffin.js, a fresh HOME) rotates and finishes; its context, refreshed mid-rotation
// (`context refresh-ca`), works after the finish; one never refreshed fails, then recovers with
// `refresh-ca --ca-hash NEW`.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { runTiffin } from "../api/run-tiffin.ts";
import type { CliRun } from "../api/run-tiffin.ts";
import type { CaStatus, CaTrust } from "../api/ca-wire.ts";
import type { HostView, JobStatus } from "../api/types.ts";
import { caHashOf, newKeyAndCsr, pinServerCa, tlsFetch } from "../api/tls.ts";
import { startAgent } from "./main.ts";
import type { AgentHandle } from "./main.ts";
import { startRealServer } from "./real-server.ts";
import type { RealServer } from "./real-server.ts";
import { pemsOf } from "./tls.ts";
import { killAttempts, testLogger, testSpec, waitFor } from "./test-fixtures.ts";

void test("CA rotation on loopback: rotate, agents move at once, finish waits for live hosts, old certificates refused after, new agents join with the new hash", { timeout: 120_000 }, async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-carot-"));
  fs.chmodSync(root, 0o711);
  const agentDir = path.join(root, "alpha");
  let server: RealServer | null = null;
  const agents: AgentHandle[] = [];
  t.after(async () => {
    for (const a of agents) await a.close("stop-tasks").catch(() => {});
    killAttempts(agentDir);
    await server?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });
  server = await startRealServer(path.join(root, "server"), { extra: { tls: { on: true, hostCertLifetimeMs: 600_000, caPollMs: 200 } } });
  const s = server;
  const ca0 = fs.readFileSync(path.join(root, "server", "ca.crt"), "utf8");
  const hash0 = caHashOf(ca0);
  let trust = ca0;
  const api = (p: string, init: RequestInit = {}): Promise<Response> => tlsFetch({ ca: trust })(`${s.url}${p}`, { ...init, headers: { authorization: `Bearer ${s.adminToken}`, "content-type": "application/json" } });
  const json = async <T>(p: string, init: RequestInit = {}): Promise<T> => {
    const r = await api(p, init);
    assert.equal(r.status, 200, `${p}: ${await r.clone().text()}`);
    return (await r.json()) as T;
  };
  const heartbeat = (f: typeof fetch, hostId: string) => f(`${s.url}/v1/agent/heartbeat`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ hostId }) });
  const tiffin = (home: string, ...argv: string[]): Promise<CliRun> => runTiffin(argv, { env: { PATH: process.env["PATH"] ?? "", HOME: home } });
  const [home, staleHome] = [path.join(root, "home"), path.join(root, "stale-home")];
  await Promise.all([home, staleHome].map(async (h) => {
    fs.mkdirSync(h);
    const added = await tiffin(h, "--token", s.adminToken, "context", "add", "prod", "--server", s.url, "--ca-hash", hash0, "--use");
    assert.equal(added.code, 0, added.err);
  }));
  const issuerOf = (certPem: string, cas: string[]): string | null => {
    const c = new X509Certificate(certPem);
    const ca = cas.find((p) => c.verify(new X509Certificate(p).publicKey));
    return ca === undefined ? null : caHashOf(ca);
  };

  // delta: an agent down through the whole rotation (stopped now, restarted after the finish).
  const deltaDir = path.join(root, "delta");
  const [alpha, delta] = await Promise.all([
    startAgent({ server: s.url, joinToken: s.joinToken, caHash: hash0, dataDir: agentDir, name: "alpha", labels: { role: "alpha" }, log: testLogger(), allowUnsandboxed: true }),
    startAgent({ server: s.url, joinToken: s.joinToken, caHash: hash0, dataDir: deltaDir, name: "delta", labels: {}, log: testLogger(), allowUnsandboxed: true }),
  ]);
  agents.push(alpha);
  await delta.close("stop-tasks");
  // On alpha (delta's record is up for a few seconds more).
  const web = testSpec({ name: "rot-web", isolation: "none", command: ["/bin/sh", "-c", "while :; do echo tick; sleep 0.2; done"], constraints: { os: null, kernel: null, labels: { role: "alpha" } } });
  assert.equal((await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec: web }) })).status, 200);
  const running = async (): Promise<string> => {
    const st = await json<JobStatus>("/v1/jobs/rot-web");
    return st.tasks[0]?.state === "running" ? (st.tasks[0].attemptId ?? "") : "";
  };
  const attempt = await waitFor("the task running", async () => ((await running()) !== "" ? running() : null));

  // beta: a host with a certificate from the old CA that never renews (a stand-in for a stuck agent).
  const reg = await tlsFetch({ ca: ca0 })(`${s.url}/v1/agent/register`, { method: "POST", headers: { authorization: `Bearer ${s.joinToken}`, "content-type": "application/json" }, body: JSON.stringify({ inventory: { name: "beta", address: "127.0.0.1:9", cores: 1, memoryMiB: 1024, diskMiB: 1024, os: { id: "linux", version: "0" }, kernel: "6", runtime: "none", labels: {} } }) });
  assert.equal(reg.status, 200, await reg.clone().text());
  const beta = (await reg.json()) as { hostId: string; hostToken: string };
  const betaKey = await newKeyAndCsr(beta.hostId);
  const betaCert = (await (await tlsFetch({ ca: ca0 })(`${s.url}/v1/agent/certificate`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${beta.hostToken}` }, body: JSON.stringify({ hostId: beta.hostId, csr: betaKey.csrPem }) })).json()) as { certificate: string };
  const asBeta = tlsFetch({ ca: ca0, cert: betaCert.certificate, key: betaKey.keyPem });
  assert.equal((await heartbeat(asBeta, beta.hostId)).status, 200);
  // beta stays live (the server's down time is 3 s) until the finish cuts it off.
  const betaBeat = setInterval(() => void heartbeat(asBeta, beta.hostId).catch(() => {}), 500);
  t.after(() => clearInterval(betaBeat));

  // delta counts as down before the rotation (not live: finish need not wait for it), however fast the steps above ran.
  await waitFor("delta down", async () => ((await json<HostView>(`/v1/hosts/${delta.hostId}`)).status === "down" ? true : null), 15_000);

  // Rotate: a new CA signs host certificates; servers still serve under the old one and trust both.
  const rotateRun = await tiffin(home, "ca", "rotate", "--json");
  assert.equal(rotateRun.code, 0, rotateRun.err);
  const rotated = JSON.parse(rotateRun.out) as { previous: string; current: string };
  assert.equal(rotated.previous, hash0);
  const hash1 = rotated.current;
  assert.equal((await api("/v1/ca/rotate", { method: "POST", body: "{}" })).status, 409, "one rotation at a time");
  const bundle = await json<CaTrust>("/v1/ca/trust");
  assert.deepEqual(bundle.trust.map((c) => c.hash), [hash0, hash1]);
  assert.equal(bundle.serving, hash0);
  trust = bundle.trust.map((c) => c.certPem).join("");
  const ca1 = bundle.trust[1]!.certPem;
  // alpha renews under the new CA at once (its certificate's own renewal is 6 minutes away) and trusts both.
  const rotatedAt = Date.now();
  await waitFor("alpha's certificate from the new CA", () => (issuerOf(fs.readFileSync(path.join(agentDir, "host.crt"), "utf8"), [ca0, ca1]) === hash1 ? true : null), 10_000);
  const movedInMs = Date.now() - rotatedAt;
  assert.ok(movedInMs < 8000, `alpha moved ${movedInMs} ms after the rotation (its own renewal: 400 s away)`);
  assert.deepEqual(pemsOf(fs.readFileSync(path.join(agentDir, "ca.crt"), "utf8")).map(caHashOf), [hash0, hash1]);
  assert.equal((await heartbeat(asBeta, beta.hostId)).status, 200, "the old CA's certificates stay good until finish");
  // The CLI's context learns both CAs over the connection it trusts (beside `ca status`).
  const [statusRun, refreshed] = await Promise.all([tiffin(home, "ca", "status", "--json"), tiffin(home, "context", "refresh-ca", "--ca-hash", hash1)]);
  assert.equal(statusRun.code, 0, statusRun.err);
  const mid = JSON.parse(statusRun.out) as CaStatus;
  assert.equal(mid.rotating, true);
  assert.deepEqual(mid.cas.map((c) => [c.hash, c.signsHosts, c.serves, c.hosts]), [[hash0, false, true, 2], [hash1, true, false, 1]], "beta and delta (down) on the old CA, alpha on the new");
  assert.deepEqual(mid.notMoved, ["beta"]);

  assert.equal(refreshed.code, 0, refreshed.err);
  assert.match(refreshed.out, new RegExp(`now trusts ${hash0}, ${hash1}`));

  // Finish: refused while beta (live, on the old CA) has not moved, naming it; --force goes past it.
  const refused = await tiffin(home, "ca", "rotate", "--finish");
  assert.notEqual(refused.code, 0);
  assert.match(refused.err, /1 live host\(s\) hold no certificate from the new CA yet: beta/);
  const finishRun = await tiffin(home, "ca", "rotate", "--finish", "--force", "--json");
  assert.equal(finishRun.code, 0, finishRun.err);
  assert.deepEqual(JSON.parse(finishRun.out), { dropped: hash0, current: hash1, forced: ["beta"] });
  clearInterval(betaBeat);
  trust = ca1;
  // The server serves under the new CA now, without a restart; a client trusting only the old one is refused.
  assert.equal(caHashOf(await pinServerCa(s.url, hash1)), hash1);
  await assert.rejects(tlsFetch({ ca: ca0 })(`${s.url}/healthz`), "a new connection trusting only the old CA");
  // beta's old certificate: refused on the connection it kept alive and on a new one.
  assert.equal((await heartbeat(asBeta, beta.hostId)).status, 401, "kept-alive connection, old-CA certificate");
  assert.equal((await heartbeat(tlsFetch({ ca: ca1, cert: betaCert.certificate, key: betaKey.keyPem }), beta.hostId)).status, 401, "new connection, old-CA certificate");

  // alpha drops the old CA (told again) and goes on: heartbeats, the same attempt running, reports.
  await waitFor("alpha trusting the new CA only", () => (pemsOf(fs.readFileSync(path.join(agentDir, "ca.crt"), "utf8")).map(caHashOf).join() === hash1 ? true : null), 10_000);
  const upSince = Date.now();
  await waitFor("heartbeats after the finish", async () => (Date.now() - upSince > 1500 && (await json<HostView>(`/v1/hosts/${alpha.hostId}`)).status === "up" ? true : null), 10_000);
  assert.equal(await running(), attempt, "the task ran through the rotation untouched");
  // New work reaches alpha (its assignments stream) and its reports come back, all under the new CA.
  const more = testSpec({ name: "rot-more", isolation: "none", command: ["/bin/sh", "-c", "exec sleep 600"], constraints: { os: null, kernel: null, labels: { role: "alpha" } } });
  assert.equal((await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec: more }) })).status, 200);
  await waitFor("a new task running on alpha after the finish", async () => ((await json<JobStatus>("/v1/jobs/rot-more")).tasks[0]?.state === "running" ? true : null), 15_000);
  await waitFor("its logs through the server", async () => ((await (await api("/v1/tasks/rot-web/0/logs?stream=stdout")).text()).includes("tick") ? true : null), 10_000);
  const after = await json<CaStatus>("/v1/ca");
  assert.deepEqual(after.cas.map((c) => [c.hash, c.signsHosts, c.serves]), [[hash1, true, true]]);
  assert.equal(after.rotating, false);

  // The refreshed context works; the stale one does not, until refresh-ca pins the new hash's CA.
  const [hostsRun, staleRun] = await Promise.all([tiffin(home, "hosts"), tiffin(staleHome, "hosts")]);
  assert.equal(hostsRun.code, 0, hostsRun.err);
  assert.match(hostsRun.out, /alpha/);
  assert.notEqual(staleRun.code, 0, "a context pinning only the old CA");
  const recovered = await tiffin(staleHome, "context", "refresh-ca", "--ca-hash", hash1);
  assert.equal(recovered.code, 0, recovered.err);
  assert.equal((await tiffin(staleHome, "hosts")).code, 0);

  // A new agent joins with the new hash; delta, down through it all, comes back with it (its saved
  // certificate is from the dropped CA: it gets a new one instead of calling with one nobody trusts).
  const [gamma, deltaBack] = await Promise.all([
    startAgent({ server: s.url, joinToken: s.joinToken, caHash: hash1, dataDir: path.join(root, "gamma"), name: "gamma", labels: {}, log: testLogger(), allowUnsandboxed: true }),
    startAgent({ server: s.url, joinToken: s.joinToken, caHash: hash1, dataDir: deltaDir, name: "delta", labels: {}, log: testLogger(), allowUnsandboxed: true }),
  ]);
  agents.push(gamma, deltaBack);
  assert.equal(issuerOf(fs.readFileSync(path.join(root, "gamma", "host.crt"), "utf8"), [ca1]), hash1);
  assert.equal(deltaBack.hostId, delta.hostId, "delta kept its identity");
  assert.equal(issuerOf(fs.readFileSync(path.join(deltaDir, "host.crt"), "utf8"), [ca1]), hash1, "delta's certificate from the new CA");
  const back = Date.now();
  await waitFor("delta heartbeating again", async () => (Date.now() - back > 1500 && (await json<HostView>(`/v1/hosts/${delta.hostId}`)).status === "up" ? true : null), 10_000);

  // Both steps are in the audit, with the hashes.
  const audit = await (await api("/v1/audit")).text();
  assert.match(audit, new RegExp(`rotated the cluster CA: ${hash0} -> ${hash1}`));
  assert.match(audit, /finished the CA rotation: dropped .*; forced past beta/);
});
