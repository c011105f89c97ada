// mTLS end to end (issue 17): a real server in its own process on loopback with TLS turned on
// (`tls.on`, as `--tls`) and host certificates of 3 s, real agents in this process. One cluster for
// every assertion (the suite's time budget): a wrong CA hash is refused before the join token goes
// out; plain HTTP to the HTTPS port gets a readable 400; an agent bootstraps (join token, then a
// certificate for a key it keeps) and runs a task; one host's certificate cannot act for another
// host (403), nor lend itself to another host's token (401); a host token without its certificate
// gets nothing but a certificate (403); the certificate is renewed before it expires and the agent
// keeps heartbeating past the first one's end, while the expired one is refused. The task pins a
// package: its pieces come over HTTPS too (the swarm tracker and the origin, node:http clients that
// spoke only plain HTTP before: the task never started), and its logs come through the server.
// The agents' own endpoints speak HTTPS with their host certificates: logs, exec and an exec session
// through the server (its certificate); plain HTTP to an endpoint, no certificate, or a host's
// certificate for logs or exec are refused; a second agent fetches the package's pieces from the
// first over HTTPS (the first counts the bytes it served); after the serving certificate's renewal
// the server still reads logs. A second server on 0.0.0.0 without flags speaks HTTPS (the default).
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { requestUpgrade } from "../api/exec-upgrade.ts";
import { execQuery } from "../api/exec-wire.ts";
import type { ExecFrame, HostView, JobStatus } from "../api/types.ts";
import { caHashOf, tlsFetch, validityOf } from "../api/tls.ts";
import { buildPackage, PieceStore, piecesOf } from "../pkg/index.ts";
import { startAgent } from "./main.ts";
import type { AgentHandle } from "./main.ts";
import { startRealServer } from "./real-server.ts";
import type { RealServer } from "./real-server.ts";
import { killAttempts, testLogger, testSpec, waitFor } from "./test-fixtures.ts";

const lifetimeMs = 3000;

void test("mTLS on loopback: CA pinning, bootstrap, a task, one host's certificate only for itself, plain HTTP refused, renewal", { timeout: 120_000 }, async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-mtls-"));
  fs.chmodSync(root, 0o711); // the task (isolation "none", as nobody) reaches its package under it
  const agentDir = path.join(root, "agent");
  let server: RealServer | null = null;
  let agent: AgentHandle | null = null;
  let gammaStarted: Promise<AgentHandle> | null = null;
  let wideStarted: Promise<RealServer> | null = null;
  t.after(async () => {
    await agent?.close("stop-tasks").catch(() => {});
    await (await gammaStarted?.catch(() => null))?.close("stop-tasks").catch(() => {});
    killAttempts(agentDir);
    killAttempts(path.join(root, "gamma"));
    await server?.stop();
    await (await wideStarted?.catch(() => null))?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });
  // A second server on every interface, no TLS flag (started alongside, checked below).
  wideStarted = startRealServer(path.join(root, "wide"), { extra: { listen: "0.0.0.0:0" } });
  server = await startRealServer(path.join(root, "server"), { extra: { tls: { on: true, hostCertLifetimeMs: lifetimeMs } } });
  const s = server;
  assert.match(s.url, /^https:\/\/127\.0\.0\.1:\d+$/, "a loopback server with --tls speaks https");
  const ca = fs.readFileSync(path.join(root, "server", "ca.crt"), "utf8");
  assert.equal((fs.statSync(path.join(root, "server", "ca.key")).mode & 0o777).toString(8), "600", "the CA key is owner-only");
  const caHash = caHashOf(ca);
  const admin = tlsFetch({ ca });
  const api = (p: string, init: RequestInit = {}): Promise<Response> => admin(`${s.url}${p}`, { ...init, headers: { authorization: `Bearer ${s.adminToken}`, "content-type": "application/json" } });

  // Plain HTTP to the HTTPS port: a readable refusal, nothing served.
  const plain = await fetch(`${s.url.replace(/^https:/, "http:")}/v1/jobs`, { headers: { authorization: `Bearer ${s.adminToken}` } });
  assert.equal(plain.status, 400);
  assert.match(await plain.text(), /speaks HTTPS only/);
  // Without the pinned CA, a client does not trust the server.
  await assert.rejects(fetch(`${s.url}/healthz`), "the default trust store does not know the cluster CA");

  // A wrong CA hash: refused at the TLS handshake, before any call (the join token never leaves).
  await assert.rejects(
    startAgent({ server: s.url, joinToken: s.joinToken, caHash: `sha256:${"0".repeat(64)}`, dataDir: path.join(root, "wrong"), name: "wrong", labels: {}, log: testLogger(), registerTimeoutMs: 1000 }),
    (err: Error & { code?: string }) => err.code === "TIFFIN_TLS_UNTRUSTED" && /did not present a CA with hash/.test(err.message),
  );
  const hosts0 = (await (await api("/v1/hosts")).json()) as HostView[];
  assert.deepEqual(hosts0.map((h) => h.name), [], "the agent with the wrong hash did not register");

  // The agent bootstraps: join token, then its certificate (CN = its host id), then a task runs.
  agent = await startAgent({ server: s.url, joinToken: s.joinToken, caHash, dataDir: agentDir, name: "alpha", labels: {}, log: testLogger(), allowUnsandboxed: true });
  const alphaId = agent.hostId;
  const first = fs.readFileSync(path.join(agentDir, "host.crt"), "utf8");
  // Read at once: the agent renews (a new key and certificate) two seconds from now.
  const asFirst = tlsFetch({ ca, cert: first, key: fs.readFileSync(path.join(agentDir, "host.key"), "utf8") });
  assert.match(new X509Certificate(first).subject, new RegExp(`CN=${alphaId}`));
  assert.ok(new X509Certificate(first).verify(new X509Certificate(ca).publicKey), "signed by the cluster CA");
  assert.equal((fs.statSync(path.join(agentDir, "host.key")).mode & 0o777).toString(8), "600");
  const heartbeat = (f: typeof fetch, hostId: string, token: string | null) =>
    f(`${s.url}/v1/agent/heartbeat`, { method: "POST", headers: { "content-type": "application/json", ...(token !== null ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ hostId }) });
  assert.equal((await heartbeat(asFirst, alphaId, null)).status, 200, "alpha's certificate alone acts for alpha");
  const tree = path.join(root, "tree");
  fs.mkdirSync(tree);
  fs.writeFileSync(path.join(tree, "hello.txt"), "hello over tls\n");
  const local = new PieceStore(path.join(root, "local"));
  const m = await buildPackage({ dir: tree, name: "app", version: "1", store: local, builder: "test" });
  for (const h of piecesOf(m)) assert.equal((await admin(`${s.url}/v1/packages/pieces/${h}`, { method: "POST", headers: { authorization: `Bearer ${s.adminToken}`, "content-type": "application/octet-stream" }, body: (await local.get(h))! })).status, 200);
  assert.equal((await api("/v1/packages", { method: "POST", body: JSON.stringify({ manifest: m }) })).status, 200);
  const web = testSpec({ name: "tls-web", isolation: "none", packages: ["app:1"], command: ["/bin/sh", "-c", 'cat "$TIFFIN_PKG_APP/hello.txt" || exit 1; exec sleep 600'] });
  const applied = await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec: web }) });
  assert.equal(applied.status, 200, await applied.clone().text());
  await waitFor("the task running on the mTLS agent, with its package", async () => {
    const st = (await (await api("/v1/jobs/tls-web")).json()) as JobStatus;
    return st.tasks[0]?.state === "running" ? true : null;
  });
  await waitFor("its logs through the server", async () => ((await (await api("/v1/tasks/tls-web/0/logs?stream=stdout")).text()).includes("hello over tls") ? true : null), 10_000);
  // A second agent (its own host certificate), whose task takes the same package: from alpha, over HTTPS.
  gammaStarted = startAgent({ server: s.url, joinToken: s.joinToken, caHash, dataDir: path.join(root, "gamma"), name: "gamma", labels: { role: "gamma" }, log: testLogger(), allowUnsandboxed: true });

  // exec through the server, to the agent's HTTPS endpoint: the plain POST and the session (upgrade).
  const frames = (text: string): ExecFrame[] => text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as ExecFrame);
  const out = (fs: ExecFrame[]): string => fs.map((f) => (f.type === "stdout" ? Buffer.from(f.data, "base64").toString() : "")).join("");
  const ex = await api("/v1/tasks/tls-web/0/exec", { method: "POST", body: JSON.stringify({ command: ["/bin/sh", "-c", "echo exec over tls"] }) });
  assert.equal(ex.status, 200);
  const exFrames = frames(await ex.text());
  assert.equal(out(exFrames), "exec over tls\n");
  assert.deepEqual(exFrames.at(-1), { type: "exit", code: 0, signal: null });
  const up = await requestUpgrade(`${s.url}/v1/tasks/tls-web/0/exec?${execQuery({ command: ["/bin/sh", "-c", "echo session over tls"] })}`, `Bearer ${s.adminToken}`, 10_000, null, ca);
  assert.equal(up.kind, "upgraded", up.kind === "response" ? up.body : "");
  if (up.kind === "upgraded") {
    let text = up.head.toString();
    await new Promise<void>((resolve) => {
      up.socket.on("data", (b: Buffer) => (text += b.toString()));
      up.socket.once("close", () => resolve());
      up.socket.once("error", () => resolve());
      up.socket.write(JSON.stringify({ type: "eof" }) + "\n");
      setTimeout(() => (up.socket.destroy(), resolve()), 10_000).unref();
    });
    assert.match(out(frames(text)), /session over tls/, text);
  }

  // The agent's endpoint itself: HTTPS only, and logs and exec for a server's certificate only.
  const alphaToken = (JSON.parse(fs.readFileSync(path.join(agentDir, "agent.json"), "utf8")) as { hostToken: string }).hostToken;
  const attemptId = ((await (await api("/v1/jobs/tls-web")).json()) as JobStatus).tasks[0]?.attemptId ?? "";
  const bearer = { authorization: `Bearer ${alphaToken}` };
  await assert.rejects(fetch(`http://${agent.address}/v1/logs/${attemptId}`, { headers: bearer }), "plain HTTP to the agent's endpoint is refused");
  const noCert = await admin(`https://${agent.address}/v1/logs/${attemptId}`, { headers: bearer });
  assert.equal(noCert.status, 401, "no client certificate: no logs, even with the host token");
  assert.match(await noCert.text(), /no client certificate of a Tiffin server/);
  assert.equal((await admin(`https://${agent.address}/metrics`, { headers: bearer })).status, 200, "/metrics: the host token over HTTPS, no certificate needed");

  // Another host, registered with the join token (its token in hand, no certificate).
  const reg = await admin(`${s.url}/v1/agent/register`, { method: "POST", headers: { authorization: `Bearer ${s.joinToken}`, "content-type": "application/json" }, body: JSON.stringify({ inventory: { name: "beta", address: "127.0.0.1:9", cores: 1, memoryMiB: 1024, diskMiB: 1024, os: { id: "linux", version: "0" }, kernel: "6", runtime: "none", labels: {} } }) });
  assert.equal(reg.status, 200, await reg.clone().text());
  const beta = (await reg.json()) as { hostId: string; hostToken: string };
  const alphaCert = () => tlsFetch({ ca, cert: fs.readFileSync(path.join(agentDir, "host.crt"), "utf8"), key: fs.readFileSync(path.join(agentDir, "host.key"), "utf8") });
  const asAlpha = alphaCert();
  const other = await heartbeat(asAlpha, beta.hostId, null);
  assert.equal(other.status, 403, "alpha's certificate cannot heartbeat for beta");
  assert.match(await other.text(), /TIFFIN_FORBIDDEN/);
  assert.equal((await heartbeat(asAlpha, beta.hostId, beta.hostToken)).status, 401, "alpha's certificate does not lend itself to beta's token");
  const tokenOnly = await heartbeat(admin, beta.hostId, beta.hostToken);
  assert.equal(tokenOnly.status, 403, "under TLS a host token alone gets nothing but a certificate");
  assert.match(await tokenOnly.text(), /needs the host's client certificate/);
  const report = await asAlpha(`${s.url}/v1/agent/attempts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ hostId: beta.hostId, updates: [] }) });
  assert.equal(report.status, 403, "nor report beta's attempts");

  // gamma: its task's package comes from alpha over HTTPS; gamma's certificate gets no logs or exec of alpha.
  const gamma = await gammaStarted;
  const gammaDir = path.join(root, "gamma");
  const asGamma = tlsFetch({ ca, cert: fs.readFileSync(path.join(gammaDir, "host.crt"), "utf8"), key: fs.readFileSync(path.join(gammaDir, "host.key"), "utf8") });
  const peerLogs = await asGamma(`https://${agent.address}/v1/logs/${attemptId}`, { headers: bearer });
  assert.equal(peerLogs.status, 403, "a peer's host certificate reads no logs of another agent, even with its host token");
  assert.match(await peerLogs.text(), new RegExp(`certificate of host ${gamma.hostId} may not read logs`));
  const peerExec = await asGamma(`https://${agent.address}/v1/exec/${attemptId}`, { method: "POST", headers: { ...bearer, "content-type": "application/json" }, body: JSON.stringify({ command: ["id"] }) });
  assert.equal(peerExec.status, 403, "nor runs exec there");
  const peerSession = await requestUpgrade(`https://${agent.address}/v1/exec/${attemptId}?${execQuery({ command: ["id"] })}`, `Bearer ${alphaToken}`, 5000, null, ca, { cert: fs.readFileSync(path.join(gammaDir, "host.crt"), "utf8"), key: fs.readFileSync(path.join(gammaDir, "host.key"), "utf8"), agent: false });
  assert.equal(peerSession.kind === "response" ? peerSession.status : 101, 403, "nor opens an exec session there");
  const served = async (): Promise<number> => {
    const text = await (await admin(`https://${agent!.address}/metrics`, { headers: bearer })).text();
    return Number(/^tiffin_agent_package_bytes_served_total (\S+)$/m.exec(text)?.[1] ?? "0");
  };
  assert.equal(await served(), 0, "alpha has served no piece yet");
  const g = testSpec({ name: "tls-gamma", isolation: "none", packages: ["app:1"], constraints: { os: null, kernel: null, labels: { role: "gamma" } }, command: ["/bin/sh", "-c", 'cat "$TIFFIN_PKG_APP/hello.txt" || exit 1; exec sleep 600'] });
  assert.equal((await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec: g }) })).status, 200);
  await waitFor("gamma's task running with the package", async () => {
    const st = (await (await api("/v1/jobs/tls-gamma")).json()) as JobStatus;
    return st.tasks[0]?.state === "running" ? true : null;
  });
  assert.ok((await served()) > 0, "alpha served gamma the package's pieces over HTTPS (peer to peer)");

  // The default off loopback: a server on 0.0.0.0 without a TLS flag speaks HTTPS with its CA.
  const wide = await wideStarted;
  assert.match(wide.url, /^https:\/\//, "a server on every interface speaks https by default");
  const wideCa = fs.readFileSync(path.join(root, "wide", "ca.crt"), "utf8");
  const widePort = new URL(wide.url).port;
  assert.equal((await tlsFetch({ ca: wideCa })(`https://127.0.0.1:${widePort}/healthz`)).status, 200);
  const widePlain = await fetch(`http://127.0.0.1:${widePort}/v1/jobs`, { headers: { authorization: `Bearer ${wide.adminToken}` } });
  assert.equal(widePlain.status, 400);
  assert.match(await widePlain.text(), /speaks HTTPS only/);
  await wide.stop();

  // Renewal: the agent swaps its certificate at two thirds of its life; past the first one's end the
  // agent still heartbeats (the host stays up) and the first certificate is refused.
  const firstEnd = validityOf(first).notAfter;
  await waitFor("a renewed certificate", () => (fs.readFileSync(path.join(agentDir, "host.crt"), "utf8") !== first ? true : null), lifetimeMs * 2);
  await waitFor("the first certificate's end", () => (Date.now() > firstEnd + 1200 ? true : null), lifetimeMs * 2);
  const alpha = (await (await api(`/v1/hosts/${alphaId}`)).json()) as HostView;
  assert.equal(alpha.status, "up", "heartbeats went on with the renewed certificate");
  assert.equal((await heartbeat(asFirst, alphaId, null)).status, 401, "the expired certificate no longer identifies alpha");
  assert.equal((await heartbeat(alphaCert(), alphaId, null)).status, 200, "the renewed one does");
  const st = (await (await api("/v1/jobs/tls-web")).json()) as JobStatus;
  assert.equal(st.tasks[0]?.state, "running");
  // The endpoint serves with the renewed certificate too: the server still reads the logs.
  assert.match(await (await api("/v1/tasks/tls-web/0/logs?stream=stdout")).text(), /hello over tls/, "logs after the serving certificate's renewal");
});
