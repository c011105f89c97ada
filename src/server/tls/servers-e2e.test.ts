// Two servers with TLS on one real etcd (HA): they share the cluster CA through the store, a follower
// passes calls on to the leader over HTTPS presenting its server certificate, and the servers' own
// routes (`/v1/internal/...`) take a server's certificate besides the admin token: the admin token
// alone, or with a host's certificate, gets 403; with a server certificate of the cluster it passes.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { tlsFetch } from "../../api/tls.ts";
import { etcdAvailable, startEtcd } from "../../state/etcd-testing.ts";
import { openStore, startServer } from "../main.ts";
import type { ServerHandle } from "../main.ts";
import { tempDir } from "../testing/harness.ts";
import { caOf, issueServerCert } from "./ca.ts";

const log = process.env["TIFFIN_TEST_LOG"] ?? "silent";
const skip = etcdAvailable() ? false : "etcd is not installed (apt-get install etcd-server)";

void test("HA servers over TLS: one CA, follower to leader over HTTPS, internal routes take a server's certificate", { skip, timeout: 60_000 }, async (t) => {
  const undo: (() => unknown)[] = [];
  t.after(async () => {
    const t1 = Date.now();
    for (const fn of undo.reverse()) await fn();
    // A server's close ends its connections at once (it waited for a peer's kept-alive one, 63 s).
    assert.ok(Date.now() - t1 < 10_000, `stopped in ${Date.now() - t1} ms`);
  });
  const etcd = await startEtcd();
  undo.push(() => etcd.stop());
  const servers: ServerHandle[] = [];
  const dirs: string[] = [];
  // One after the other: the first makes the CA, the second takes it from the store.
  for (let i = 0; i < 2; i++) {
    const dir = tempDir();
    undo.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const store = await openStore({ kind: "etcd", endpoints: etcd.endpoints, prefix: "/tlsha" });
    undo.push(() => store.close());
    const s = await startServer({ dataDir: dir, listen: "127.0.0.1:0", store, log, tls: { on: true } });
    undo.push(() => s.close());
    servers.push(s);
    dirs.push(dir);
  }
  const [a, b] = servers as [ServerHandle, ServerHandle];
  assert.ok(a.url.startsWith("https://") && b.url.startsWith("https://"));
  assert.ok(a.ca !== null && b.ca !== null);
  assert.equal(b.ca.hash, a.ca.hash, "one cluster CA, shared through the store");
  const ca = a.ca.certPem;
  const admin = { authorization: `Bearer ${a.adminToken}`, "content-type": "application/json" };
  const plain = tlsFetch({ ca });

  // Which one leads (the other passes calls on to it).
  const leading = async (s: ServerHandle): Promise<boolean> => ((await (await plain(`${s.url}/v1/cluster`, { headers: admin })).json()) as { self: { leader: boolean } }).self.leader;
  const findLeader = async (): Promise<ServerHandle> => {
    for (let i = 0; i < 400; i++) {
      for (const s of servers) if (await leading(s)) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("no leader within 20 s");
  };
  const t0 = Date.now();
  const leader = await findLeader();
  t.diagnostic(`a leader after ${Date.now() - t0} ms`);
  const follower = leader === a ? b : a;

  // A follower's forward to the leader over HTTPS (the swarm's fetch list lives on the leader).
  const fetches = await plain(`${follower.url}/v1/swarm/fetches`, { headers: admin });
  assert.equal(fetches.status, 200, await fetches.clone().text());

  // The servers' own routes: the admin token alone is not enough under TLS.
  const contacts = JSON.stringify({ from: "test", contacts: [] });
  const tokenOnly = await plain(`${leader.url}/v1/internal/contacts`, { method: "POST", headers: admin, body: contacts });
  assert.equal(tokenOnly.status, 403, await tokenOnly.clone().text());
  assert.match(await tokenOnly.text(), /TIFFIN_FORBIDDEN.*server's certificate/s);
  // A server certificate of the cluster (made here with the CA key in the first server's data dir).
  const clusterCa = await caOf({ certPem: ca, keyPem: fs.readFileSync(path.join(dirs[0] ?? "", "ca.key"), "utf8") }, "the test's CA");
  const serverCert = await issueServerCert(clusterCa, ["127.0.0.1"], Date.now());
  const asServer = tlsFetch({ ca, cert: serverCert.certPem, key: serverCert.keyPem });
  const withCert = await asServer(`${leader.url}/v1/internal/contacts`, { method: "POST", headers: admin, body: contacts });
  assert.ok(withCert.status < 300, `a server's certificate and the admin token: ${withCert.status} ${await withCert.text()}`);
  // The certificate alone is not enough either.
  const certOnly = await asServer(`${leader.url}/v1/internal/contacts`, { method: "POST", headers: { "content-type": "application/json" }, body: contacts });
  assert.equal(certOnly.status, 401);
});
