// Stock Debian daemons as sandboxed tasks (issue 10 item 13), through a real agent and real helpers
// (against FakeServer, test-fixtures.ts): nginx and redis-server with their packages' own configs
// (/etc/nginx/nginx.conf in place, /etc/redis/redis.conf's content), unchanged. They need what a real machine gives them: a
// writable /var/lib/<name> and /var/log/<name>, /run for pid files, and for nginx's
// `access_log /dev/stdout` an stdout that can be opened by path. Needs root, crun or runc, and the
// packages (.ci/run installs nginx-light and redis-server); fails loudly without them.
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { readLogs } from "../helper/logs.ts";
import { findBinary } from "../helper/sandbox-runtime.ts";
import { startAgent } from "./main.ts";
import { FakeServer, killAttempts, testAssignment, testLogger, testSpec, waitFor } from "./test-fixtures.ts";

/** A port nothing listens on right now (the daemons' configs name their port). */
async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, "127.0.0.1");
  await new Promise((r) => s.once("listening", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** An agent on a fresh data dir and fake server; everything killed and removed after the test. */
async function agentFor(t: TestContext): Promise<{ server: FakeServer; dataDir: string; scratch: string }> {
  for (const bin of ["nginx", "redis-server"]) assert.ok(findBinary(bin, `${process.env["PATH"] ?? ""}:/usr/sbin`), `${bin} is not installed (apt-get install nginx-light redis-server; .ci/run does)`);
  const server = new FakeServer();
  await server.up();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-daemons-"));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-daemons-conf-"));
  fs.chmodSync(scratch, 0o755);
  const agent = await startAgent({ server: server.url, joinToken: server.joinToken, dataDir, name: "box-1", labels: {}, log: testLogger() });
  t.after(async () => {
    await agent.close("leave-tasks").catch(() => {});
    killAttempts(dataDir);
    await server.down();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(scratch, { recursive: true, force: true });
  });
  return { server, dataDir, scratch };
}

/** statfs f_type of tmpfs (linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;

/** The host pid of a running attempt's task (the container's init), once the agent has reported it: a
 * daemon may answer on its port before the agent's next report reaches the server. */
async function taskPid(server: FakeServer, attemptId: string): Promise<number> {
  return await waitFor("the task's pid reported", () => server.updatesOf(attemptId).find((u) => u.state === "running" && u.pid !== null)?.pid ?? null, 10_000);
}

/** Everything of one log stream of an attempt so far. */
async function logOf(dataDir: string, attemptId: string, stream: "stdout" | "stderr"): Promise<string> {
  const parts: Buffer[] = [];
  for await (const b of readLogs(path.join(dataDir, "attempts", attemptId), stream)) parts.push(b);
  return Buffer.concat(parts).toString();
}

/** Sends inline redis commands one at a time on one connection; resolves with each reply's text. */
async function redis(port: number, commands: string[]): Promise<string[]> {
  const sock = net.connect(port, "127.0.0.1");
  await new Promise((resolve, reject) => sock.once("connect", resolve).once("error", reject));
  const replies: string[] = [];
  try {
    for (const c of commands) {
      const reply = await new Promise<string>((resolve, reject) => {
        sock.once("data", (b: Buffer) => resolve(b.toString()));
        sock.once("error", reject);
        sock.write(`${c}\r\n`);
      });
      replies.push(reply);
    }
  } finally {
    sock.destroy();
  }
  return replies;
}

void test("Debian's nginx with its stock nginx.conf serves sandboxed; access_log /dev/stdout lands in the task's log", { timeout: 60_000 }, async (t) => {
  const { server, dataDir, scratch } = await agentFor(t);
  const port = await freePort();
  // The site is the user's (read-only over sites-enabled); nginx.conf, mime.types and modules are Debian's.
  const sites = path.join(scratch, "sites");
  fs.mkdirSync(sites);
  fs.writeFileSync(path.join(sites, "default"), `server {\n  listen 127.0.0.1:${port};\n  access_log /dev/stdout;\n  location / { return 200 "hello from nginx\\n"; }\n}\n`);
  const spec = testSpec({
    name: "web",
    command: ["nginx", "-g", "daemon off;"],
    env: { PATH: "/usr/sbin:/usr/bin:/bin" },
    resources: { cpu: 0.5, memoryMiB: 128, diskMiB: 10 },
    mounts: [{ host: sites, task: "/etc/nginx/sites-enabled", writable: false }],
  });
  const a = testAssignment("att-nginx", spec);
  server.assign([a]);
  const body = await waitFor("nginx answering", async () => {
    const failed = server.updatesOf(a.attempt.id).find((u) => u.state === "failed" || u.state === "exited");
    if (failed) throw new Error(`nginx ended: ${JSON.stringify(failed)}\n${await logOf(dataDir, a.attempt.id, "stderr")}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/hello?from=test`);
      return r.status === 200 ? await r.text() : null;
    } catch {
      return null;
    }
  }, 30_000);
  assert.equal(body, "hello from nginx\n");
  const line = await waitFor("the access log line in the task's stdout", async () => (await logOf(dataDir, a.attempt.id, "stdout")).split("\n").find((l) => l.includes("GET /hello?from=test HTTP/1.1\" 200")));
  assert.match(line, /^127\.0\.0\.1 - - \[.+\] "GET \/hello\?from=test HTTP\/1\.1" 200 17 /);
  // Its own files went to its private /var and /run (tmpfs, seen here through the task's root), not the host's.
  const root = `/proc/${await taskPid(server, a.attempt.id)}/root`;
  assert.match(fs.readFileSync(`${root}/run/nginx.pid`, "utf8"), /^\d+\n$/, "pid file in the private /run");
  assert.ok(fs.statSync(`${root}/var/lib/nginx/body`).isDirectory(), "temp dirs in the private /var/lib/nginx");
  assert.equal(fs.statfsSync(`${root}/var/lib/nginx`).type, TMPFS_MAGIC, "the task's own /var, in memory");
  const err = await logOf(dataDir, a.attempt.id, "stderr");
  assert.doesNotMatch(err, /\[(emerg|crit)\]/, err);
});

void test("Debian's redis-server with its stock redis.conf runs sandboxed: PING, SET, GET, SAVE to /var/lib/redis", { timeout: 60_000 }, async (t) => {
  const { server, dataDir } = await agentFor(t);
  const port = await freePort();
  // Debian's redis.conf, byte for byte. Not read in place: /etc/redis is redis's alone (drwxrws---
  // redis:redis), and a sandboxed task is an unprivileged user that cannot read it, as it cannot read
  // /etc/shadow; the spec ships it in the work dir, as a config map would. Run as Debian's systemd
  // unit runs it (--daemonize no); the port is the test's.
  const conf = fs.readFileSync("/etc/redis/redis.conf", "utf8");
  assert.match(conf, /^dir \/var\/lib\/redis$/m);
  assert.match(conf, /^logfile \/var\/log\/redis\/redis-server\.log$/m);
  const spec = testSpec({
    name: "cache",
    files: { "redis.conf": { content: conf, mode: 0o644 } },
    command: ["redis-server", "./redis.conf", "--daemonize", "no", "--port", String(port)],
    resources: { cpu: 0.5, memoryMiB: 128, diskMiB: 10 },
  });
  const a = testAssignment("att-redis", spec);
  server.assign([a]);
  const replies = await waitFor("redis answering", async () => {
    const ended = server.updatesOf(a.attempt.id).find((u) => u.state === "failed" || u.state === "exited");
    if (ended) throw new Error(`redis ended: ${JSON.stringify(ended)}\n${await logOf(dataDir, a.attempt.id, "stderr")}`);
    try {
      return await redis(port, ["PING", "SET greeting hello", "GET greeting", "SAVE"]);
    } catch {
      return null;
    }
  }, 30_000);
  assert.deepEqual(replies, ["+PONG\r\n", "+OK\r\n", "$5\r\nhello\r\n", "+OK\r\n"]);
  const root = `/proc/${await taskPid(server, a.attempt.id)}/root`;
  assert.ok(fs.statSync(`${root}/var/lib/redis/dump.rdb`).size > 0, "SAVE wrote /var/lib/redis/dump.rdb (private)");
  assert.match(fs.readFileSync(`${root}/var/log/redis/redis-server.log`, "utf8"), /Ready to accept connections/);
  assert.equal(fs.statfsSync(`${root}/var/lib/redis`).type, TMPFS_MAGIC, "the task's own /var, in memory, not the host's /var/lib/redis");
});
