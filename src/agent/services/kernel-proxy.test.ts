// The local proxy's kernel mode against the real kernel (root and nft; skipped otherwise): each agent's
// nftables table DNATs a service's 127.0.0.1:PORT, where the user-space relay listens, to its endpoints.
// A 3-endpoint service balanced; an endpoint dropped leaves the rotation at once and its connections are
// cut; no endpoint refused at once (a reset, though the relay listens); two agents' tables apart; the
// rules outlive their process (kill -9); without the table the relay serves. Every table is removed after.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import pino from "pino";
import { conntrackEntries, detectKernelProxy, KernelRules, removeOrphanTables, run } from "./kernel-proxy.ts";
import type { Runner } from "./kernel-proxy.ts";
import { renderDelete, tableName } from "./nft-rules.ts";
import { ServiceProxy } from "./proxy.ts";

/** A server answering each connection's bytes with `name:` and the bytes, then keeping it open. */
async function named(name: string): Promise<{ port: number; close(): void }> {
  const socks = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    socks.add(s);
    s.on("data", (d) => s.write(`${name}:${d.toString()}`));
    s.on("error", () => {});
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const addr = srv.address();
  return { port: typeof addr === "object" && addr ? addr.port : 0, close: () => { srv.close(); for (const s of socks) s.destroy(); } };
}

/** Every client socket, destroyed after the test (an open one keeps the test's process alive). */
const clients = new Set<net.Socket>();

/** Sends `msg` to 127.0.0.1:port: the first answer, or the error code ("closed" when closed unanswered). */
function ask(port: number, msg = "hi"): Promise<{ answer: string; sock: net.Socket; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: "127.0.0.1" });
    clients.add(sock);
    const done = (answer: string): void => resolve({ answer, sock, ms: performance.now() - t0 });
    sock.on("error", (err: NodeJS.ErrnoException) => done(err.code ?? String(err)));
    sock.once("data", (d) => done(d.toString()));
    sock.once("close", () => done("closed"));
    sock.on("connect", () => sock.write(msg));
  });
}

const log = pino({ level: "silent" });
const nftDelete = (table: string): Promise<unknown> => run("nft", ["-f", "-"], renderDelete(table));

void test("kernel mode: balanced, dropped endpoints leave at once and are cut, none refused, tables apart, rules outlive a kill -9", async (t) => {
  const probe = await detectKernelProxy("auto");
  if (!probe.kernel) return void t.skip(`no kernel mode here: ${probe.why}`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-kproxy-"));
  const dirs = { a: path.join(root, "agent-a"), b: path.join(root, "agent-b"), c: path.join(root, "agent-c") };
  // They exist, as an agent's data dir does: any agent starting meanwhile (other test files run in
  // parallel) removes the tables of dirs that are gone (removeOrphanTables), which made A's rules vanish
  // mid-test in a CI run (a connection the empty service should refuse reached the relay: "closed").
  for (const d of Object.values(dirs)) fs.mkdirSync(d);
  // Every table this test may create goes, whatever happens.
  t.after(async () => {
    for (const d of Object.values(dirs)) await nftDelete(tableName(d));
    fs.rmSync(root, { recursive: true, force: true });
  });
  const [a, b, c] = await Promise.all([named("a"), named("b"), named("c")]);
  t.after(() => { a.close(); b.close(); c.close(); for (const s of clients) s.destroy(); });
  // The relays hold each service's local port (as in the agent) and are the fallback.
  const relays = [0, 1, 2].map((i) => new ServiceProxy({ service: `s${i}`, port: 0, log }));
  t.after(() => Promise.all(relays.map((r) => r.close())));
  const [pA, pB, pC] = await Promise.all(relays.map((r) => r.listen()));
  assert.ok(pA !== undefined && pB !== undefined && pC !== undefined);
  const at = (s: { port: number }): { address: string; port: number } => ({ address: "127.0.0.1", port: s.port });

  const agentA = new KernelRules({ dataDir: dirs.a, log });
  const agentB = new KernelRules({ dataDir: dirs.b, log });
  assert.notEqual(agentA.table, agentB.table);

  // 3 endpoints, round robin: each answers 2 of 6 new connections; the relay sees none of them.
  await agentA.apply([{ service: "echo", port: pA, endpoints: [at(a), at(b), at(c)] }]);
  const first = [];
  for (let i = 0; i < 6; i++) first.push(await ask(pA));
  const answers = first.map((r) => r.answer);
  for (const n of ["a", "b", "c"]) assert.equal(answers.filter((x) => x === `${n}:hi`).length, 2, answers.join(","));
  assert.equal(relays[0]?.stats.relayed, 0, "the kernel, not the relay, carried them");

  // A second agent's table: its own service, and A's rules are not in it.
  await agentB.apply([{ service: "other", port: pB, endpoints: [at(b)] }]);
  assert.equal((await ask(pB)).answer, "b:hi");
  const listedB = await run("nft", ["list", "table", "ip", agentB.table]);
  assert.ok(listedB.stdout.includes(`dport ${pB}`) && !listedB.stdout.includes(`dport ${pA}`), listedB.stdout);

  // c leaves the registry: its open connections are cut, new ones go to a and b only.
  const toC = first.filter((r) => r.answer === "c:hi").map((r) => new Promise<void>((resolve) => r.sock.once("close", () => resolve())));
  const t0 = performance.now();
  await agentA.apply([{ service: "echo", port: pA, endpoints: [at(a), at(b)] }]);
  await Promise.all(toC);
  const cutMs = performance.now() - t0;
  assert.ok(first.filter((r) => r.answer !== "c:hi").every((r) => !r.sock.destroyed), "connections to a and b stay");
  const after = [];
  for (let i = 0; i < 4; i++) after.push((await ask(pA)).answer);
  assert.deepEqual(after.sort(), ["a:hi", "a:hi", "b:hi", "b:hi"]);
  for (const r of first) r.sock.destroy();

  // No endpoint: refused at once by a reset, though the relay still listens on the port.
  await agentA.apply([{ service: "echo", port: pA, endpoints: [] }]);
  const refused = await ask(pA);
  assert.equal(refused.answer, "ECONNREFUSED");
  assert.ok(refused.ms < 200, `refused in ${refused.ms} ms`);

  // Without the table the relay serves the port; B's table is untouched.
  relays[0]?.setTargets([{ key: "a", address: "127.0.0.1", port: a.port }]);
  await agentA.remove();
  assert.equal((await run("nft", ["list", "table", "ip", agentA.table])).code, 1, "A's table is gone");
  assert.equal((await ask(pA)).answer, "a:hi");
  assert.equal(relays[0]?.stats.relayed, 1);
  assert.equal((await ask(pB)).answer, "b:hi");

  // An agent process killed with -9 after loading its rules: its service still answers.
  const child = spawn(process.execPath, ["--input-type=module", "-e", [
    `import { KernelRules } from ${JSON.stringify(path.join(import.meta.dirname, "kernel-proxy.ts"))};`,
    `import pino from "pino";`,
    `const k = new KernelRules({ dataDir: ${JSON.stringify(dirs.c)}, log: pino({ level: "silent" }) });`,
    `await k.apply([{ service: "echo", port: ${pC}, endpoints: [{ address: "127.0.0.1", port: ${c.port} }] }]);`,
    `console.log("loaded"); setInterval(() => {}, 1000);`,
  ].join("\n")], { cwd: import.meta.dirname, stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => child.kill("SIGKILL"));
  await new Promise<void>((resolve) => child.stdout.on("data", (d: Buffer) => d.toString().includes("loaded") && resolve()));
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  assert.equal((await ask(pC)).answer, "c:hi", "the rules outlived the process");
  assert.equal(relays[2]?.stats.relayed, 0);
  t.diagnostic(`cut of a dropped endpoint's connections: ${cutMs.toFixed(1)} ms after the registry change`);
});

void test("kernel mode: an endpoint on another host is reached from 127.0.0.1 (masquerade, route_localnet), in network namespaces", async (t) => {
  const probe = await detectKernelProxy("auto");
  if (!probe.kernel || spawnSync("ip", ["netns", "list"]).status !== 0) return void t.skip(`no kernel mode or no ip netns here: ${probe.why}`);
  // Two machines of our own: "agent" (the task and its agent's rules) and "remote" (the endpoint), joined
  // by a veth pair on a /30 that no route leaves; the names carry the pid so parallel runs keep apart.
  const pid = process.pid;
  const nsA = `tfkp-${pid}-a`;
  const nsB = `tfkp-${pid}-b`;
  const net3 = `10.79.${pid % 250}`;
  const ip = (...args: string[]): void => {
    const r = spawnSync("ip", args, { encoding: "utf8" });
    assert.equal(r.status, 0, `ip ${args.join(" ")}: ${r.stderr}`);
  };
  t.after(() => { spawnSync("ip", ["netns", "del", nsA]); spawnSync("ip", ["netns", "del", nsB]); });
  ip("netns", "add", nsA);
  ip("netns", "add", nsB);
  ip("-n", nsA, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", nsB);
  ip("-n", nsA, "addr", "add", `${net3}.1/30`, "dev", "eth0");
  ip("-n", nsB, "addr", "add", `${net3}.2/30`, "dev", "eth0");
  for (const ns of [nsA, nsB]) for (const dev of ["lo", "eth0"]) ip("-n", ns, "link", "set", dev, "up");

  // The endpoint on the remote machine.
  const server = spawn("ip", ["netns", "exec", nsB, process.execPath, "-e",
    `require("net").createServer((s) => s.on("data", (d) => s.end("remote:" + d))).listen(7000, "${net3}.2", () => console.log("up"))`], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => server.kill("SIGKILL"));
  await new Promise<void>((resolve) => server.stdout.on("data", (d: Buffer) => d.toString().includes("up") && resolve()));

  // The agent's rules in the agent machine (its namespace: nft and sysctl run there).
  const inA: Runner = (cmd, args, input) => run("ip", ["netns", "exec", nsA, cmd, ...args], input);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-kproxy-ns-"));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const k = new KernelRules({ dataDir: root, log, runner: inA });
  await k.apply([{ service: "far", port: 9000, endpoints: [{ address: `${net3}.2`, port: 7000 }] }]);
  assert.equal(k.last?.needsRouteLocalnet, true);
  assert.equal((await inA("sysctl", ["-n", "net.ipv4.conf.all.route_localnet"])).stdout.trim(), "1");
  // A task on the agent machine connects to the service's local address.
  const client = await inA(process.execPath, ["-e",
    `const s = require("net").connect(9000, "127.0.0.1", () => s.write("hi")); s.on("data", (d) => { process.stdout.write(String(d)); process.exit(0); }); s.on("error", (e) => { console.log(e.code); process.exit(1); }); setTimeout(() => { console.log("timeout"); process.exit(1); }, 3000);`]);
  assert.equal(client.stdout.trim(), "remote:hi", client.stderr);
});

void test("conntrackEntries: client, local port and DNAT endpoint of each line", () => {
  const out = [
    "tcp      6 431999 ESTABLISHED src=127.0.0.1 dst=127.0.0.1 sport=43712 dport=9000 src=127.0.0.1 dst=127.0.0.1 sport=9001 dport=43712 [ASSURED] mark=0 use=1",
    "tcp      6 119 TIME_WAIT src=127.0.0.1 dst=127.0.0.1 sport=40000 dport=9000 src=10.1.2.3 dst=10.0.0.5 sport=8080 dport=40000 [ASSURED] mark=0 use=1",
    "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.",
    "",
  ].join("\n");
  assert.deepEqual(conntrackEntries(out), [
    { client: "127.0.0.1", clientPort: 43712, port: 9000, endpoint: "127.0.0.1 . 9001" },
    { client: "127.0.0.1", clientPort: 40000, port: 9000, endpoint: "10.1.2.3 . 8080" },
  ]);
});

void test("removeOrphanTables: the table of an agent whose data dir is gone goes, a live agent's stays", async (t) => {
  const probe = await detectKernelProxy("auto");
  if (!probe.kernel) return void t.skip(`no kernel mode here: ${probe.why}`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-kproxy-gc-"));
  const gone = path.join(root, "gone");
  const live = path.join(root, "live");
  fs.mkdirSync(gone);
  fs.mkdirSync(live);
  t.after(async () => {
    for (const d of [gone, live]) await nftDelete(tableName(d));
    fs.rmSync(root, { recursive: true, force: true });
  });
  for (const d of [gone, live]) await new KernelRules({ dataDir: d, log }).apply([{ service: "x", port: 1, endpoints: [] }]);
  fs.rmSync(gone, { recursive: true });
  const removed = await removeOrphanTables(log);
  assert.ok(removed.includes(tableName(gone)), JSON.stringify(removed));
  assert.ok(!removed.includes(tableName(live)));
  assert.equal((await run("nft", ["list", "table", "ip", tableName(gone)])).code, 1);
  assert.equal((await run("nft", ["list", "table", "ip", tableName(live)])).code, 0);
});
