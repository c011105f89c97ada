// Several machines for real: each agent in a network namespace of its own with its own address, the
// server in the root namespace, joined by a bridge (multihost-net.ts); the server and agents started
// with the README's "Running it for real" commands (temp dirs, a free port, each machine's name and
// rack, the CA hash the server prints), everything through the real CLI argv, over mTLS: the server
// on every interface speaks HTTPS by default, the CLI pins its CA in a context. The agents bind every interface and register the address the server can dial:
// agent 1, with the default --listen and no --advertise, the address on its route to the server
// although another network card is listed first; agent 2 the one it is told with --advertise. The
// server's logs and exec proxying then reach both, and a package goes from one agent to the other.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HostView, JobStatus } from "../src/api/types.ts";
import { exitedOrAfter, freePort, processesMentioning, readdirSafe, waitFor } from "./harness.ts";
import { canMakeMachines, createMachines } from "./multihost-net.ts";

const root = join(import.meta.dirname, "..");
const bin = join(root, "bin", "tiffin.js");
const readme = readFileSync(join(root, "README.md"), "utf8");

void test("agents in their own network namespaces: registered at the address the server can dial; logs and exec reach them; a package goes peer to peer", { skip: canMakeMachines() ? false : "needs root and ip (iproute2)", timeout: 240_000 }, async (t) => {
  // Agent 1 has a second card (card0, listed before eth0) with an address the server cannot reach (no
  // one answers for it on the bridge, so nothing leaves it); agent 2 a second address on eth0.
  const net = createMachines(2, (i, subnet) => (i === 0 ? { card: [`${subnet}.200/32`] } : { eth0: [`${subnet}.103/24`] }));
  const secondary = `${net.subnet}.103`;
  const dir = mkdtempSync(join(tmpdir(), "tiffin-multihost-"));
  chmodSync(dir, 0o711); // as /var/lib: isolation "none" tasks (as nobody) reach their packages under it
  const procs: ChildProcess[] = [];
  t.after(async () => {
    for (const p of procs.slice(1)) if (p.exitCode === null && p.signalCode === null) p.kill("SIGINT");
    await exitedOrAfter(procs.slice(1), 3000);
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    for (const pid of processesMentioning(dir)) process.kill(pid, "SIGKILL");
    net.remove();
    if (!process.env["TIFFIN_KEEP_TEST_DIRS"]) rmSync(dir, { recursive: true, force: true });
  });
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir };
  for (const k of ["TIFFIN_HOME", "TIFFIN_ADDR", "TIFFIN_TOKEN"]) delete env[k];
  let logs = "";
  const start = (argv: string[]): ChildProcess => {
    const p = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    p.stdout?.setEncoding("utf8").on("data", (c: string) => (logs += c));
    p.stderr?.setEncoding("utf8").on("data", (c: string) => (logs += c));
    procs.push(p);
    return p;
  };

  // The README's "Running it for real" commands, with temp dirs, a free port, this test's machines.
  const [block] = [...readme.matchAll(/## Running it for real\n[\s\S]*?```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\\\n\s*/g, ""));
  const [serverLine, agentLine] = (block ?? "").split("\n").filter((l) => l.startsWith("tiffin "));
  assert.ok(serverLine && agentLine, block);
  const port = await freePort();
  // On every interface the server speaks HTTPS (issue 17): agents and the CLI pin the CA it prints.
  const serverUrl = `https://${net.serverIp}:${port}`;
  const words = (line: string, subs: [string, string][]): string[] => {
    let l = line.replace(/\s+#.*$/, "");
    for (const [from, to] of subs) l = l.replaceAll(from, to);
    return l.split(" ").filter((w) => w !== "").slice(1);
  };
  const paths: [string, string][] = [["/var/lib/tiffin-agent", "AGENT_DATA"], ["/var/lib/tiffin", join(dir, "server")], ["join.token", join(dir, "server", "join.token")]];
  start([process.execPath, bin, ...words(serverLine, [...paths, ["0.0.0.0:7070", `0.0.0.0:${port}`]])]);
  await waitFor("the server's tokens", 30_000, () => readdirSafe(join(dir, "server")).includes("join.token"));
  const caHash = await waitFor("the server to print its CA's hash", 30_000, () => /TLS: cluster CA (sha256:[0-9a-f]{64})/.exec(logs)?.[1]);
  const agent = (i: number, extra: string[]): ChildProcess => {
    const argv = words(agentLine, [...paths, ["SERVER:7070", `${net.serverIp}:${port}`], ["sha256:HASH", caHash], ["$(hostname)", `m${i + 1}`], ["rack=r12", `rack=r${i + 1}`]]).map((w) => w.replace("AGENT_DATA", join(dir, `agent-${i + 1}`)));
    return start(["ip", "netns", "exec", net.machines[i]!.ns, process.execPath, bin, ...argv, ...extra]);
  };
  // The jobs below are isolation "none": both agents allow them.
  agent(0, ["--allow-unsandboxed"]); // as the README says: every interface, a port the kernel picks, the address toward the server
  agent(1, ["--listen", "0.0.0.0:7072", "--advertise", `${secondary}:7072`, "--allow-unsandboxed"]);
  const added = tiffin(env, ["context", "add", "multihost", "--server", serverUrl, "--token-file", join(dir, "server", "admin.token"), "--ca-hash", caHash, "--use"]);
  assert.equal(added.code, 0, `${added.out}${added.err}`);
  const cli: NodeJS.ProcessEnv = env;

  const hosts = await waitFor("both agents to register", 60_000, () => {
    const r = tiffin(cli, ["hosts", "--json"]);
    const hs = r.code === 0 ? (JSON.parse(r.out) as HostView[]) : [];
    return hs.filter((h) => h.status === "up").length === 2 ? hs : undefined;
  }).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${logs.slice(-3000)}`);
  });
  const address = (name: string): string | undefined => hosts.find((h) => h.name === name)?.address;
  assert.match(address("m1") ?? "", new RegExp(`^${net.machines[0]!.ip.replaceAll(".", "\\.")}:\\d+$`), "m1: its address on the route to the server, not card0's nor loopback");
  assert.equal(address("m2"), `${secondary}:7072`, "m2: the address given with --advertise");

  const spec = join(dir, "greet.json");
  writeFileSync(spec, JSON.stringify({ name: "greet", command: ["sh", "-c", "echo hello from $TASK_ID; exec sleep 300"], replicas: 2, isolation: "none", resources: { cpu: 0.1, memory: "16Mi" } }));
  const applied = tiffin(cli, ["apply", spec], 120_000);
  assert.equal(applied.code, 0, `${applied.out}${applied.err}`);
  const status = JSON.parse(tiffin(cli, ["status", "greet", "--json"]).out) as JobStatus;
  assert.deepEqual(status.tasks.map((x) => x.hostName).sort(), ["m1", "m2"], "one task on each machine (spread over racks)");
  for (const task of status.tasks) {
    // Through the server, from the root namespace, to the agent at its registered address.
    await waitFor(`${task.id}'s log through the server`, 30_000, () => tiffin(cli, ["logs", task.id]).out.includes(`hello from ${task.id}`));
    const exec = tiffin(cli, ["exec", "-T", task.id, "--", "sh", "-c", "echo exec on $TASK_ID"]);
    assert.equal(exec.code, 0, `exec ${task.id}: ${exec.out}${exec.err}`);
    assert.equal(exec.out.trim(), `exec on ${task.id}`);
  }

  // A package peer to peer: m1 fetches it from the server (the origin), then m2 from m1, which the
  // bytes m1 sends on its link show (random content: no compression makes them smaller).
  const tool = join(dir, "tool");
  mkdirSync(join(tool, "bin"), { recursive: true });
  writeFileSync(join(tool, "bin", "tool"), '#!/bin/sh\nset -e\necho "tool on $TASK_ID: $(wc -c < "$(dirname "$0")/../data.bin") bytes"\n', { mode: 0o755 });
  const size = 4 * 1024 * 1024;
  writeFileSync(join(tool, "data.bin"), randomBytes(size));
  const pushed = tiffin(cli, ["pkg", "push", tool, "--name", "tool", "--version", "1", "--entrypoint", "bin/tool"], 120_000);
  assert.equal(pushed.code, 0, `${pushed.out}${pushed.err}`);
  const usesTool = (name: string, rack: string): void => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ name, command: ["sh", "-c", "$TIFFIN_PKG_TOOL/bin/tool; exec sleep 300"], packages: ["tool:1"], constraints: { labels: { rack } }, isolation: "none", resources: { cpu: 0.1, memory: "16Mi" } }));
    const r = tiffin(cli, ["apply", file], 120_000);
    assert.equal(r.code, 0, `apply ${name}: ${r.out}${r.err}`);
  };
  usesTool("first", "r1");
  await waitFor("first/0's tool output", 30_000, () => tiffin(cli, ["logs", "first/0"]).out.includes(`tool on first/0: ${size} bytes`));
  const sentBefore = txBytes(net.machines[0]!.ns);
  usesTool("second", "r2");
  await waitFor("second/0's tool output", 30_000, () => tiffin(cli, ["logs", "second/0"]).out.includes(`tool on second/0: ${size} bytes`));
  const sentByM1 = txBytes(net.machines[0]!.ns) - sentBefore;
  t.diagnostic(`m1 sent ${sentByM1} bytes while m2 fetched a ${size}-byte package`);
  assert.ok(sentByM1 >= size, `m1 sent ${sentByM1} bytes while m2 fetched the package: m2 took it from m1, not the server`);
});

/** Bytes sent on eth0 of namespace `ns` so far. */
function txBytes(ns: string): number {
  const out = spawnSync("ip", ["-n", ns, "-s", "-j", "link", "show", "dev", "eth0"], { encoding: "utf8" }).stdout;
  return (JSON.parse(out) as { stats64: { tx: { bytes: number } } }[])[0]!.stats64.tx.bytes;
}

function tiffin(env: NodeJS.ProcessEnv, args: string[], timeoutMs = 30_000): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: "utf8", timeout: timeoutMs, input: "" });
  return { code: r.status, out: r.stdout ?? "", err: r.stderr ?? "" };
}

