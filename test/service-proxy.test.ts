// Service dependencies and the agents' local proxies end to end (issue 15): a real server, four real
// agent processes, Debian's redis-server as a 3-replica service and a sandboxed client of stock
// redis-cli that `uses` it. The client is held until the service has its minimum of endpoints, then
// reaches every replica through its agent's proxy at TIFFIN_SERVICE_CACHE, and keeps working (its
// errors counted and bounded) while the agent of one replica is killed with kill -9, the registry
// drops the replica and the server replaces it elsewhere; the client itself is never restarted, and
// its services file follows the registry. Then the service is rolled out (a new version replacing
// each replica, its endpoint removed `stop.delay` before its stop signal) and the client keeps working
// through that too, its errors counted and bounded. The server refuses the client before its service
// exists (a dependency is checked at apply, not only by the CLI's plan).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { ApiClient } from "../src/api/client.ts";
import { tableName } from "../src/agent/services/nft-rules.ts";
import { readLogs } from "../src/helper/logs.ts";
import { decompileJob } from "../src/spec/decompile.ts";
import { Cluster, compile, waitFor } from "./harness.ts";

const run = promisify(execFile);
const bin = join(import.meta.dirname, "..", "bin", "tiffin.js");

const cache = compile({
  name: "cache",
  command: "exec redis-server --port ${PORT_REDIS} --bind 127.0.0.1 --save '' --appendonly no --protected-mode no",
  isolation: "none",
  replicas: 3,
  ports: { redis: {} },
  health: { kind: "tcp", port: "redis", every: "200ms", timeout: "200ms", failures: 2, grace: "5s" },
  resources: { cpu: 0.1, memory: "64Mi", disk: "64Mi" },
  // Short, so the rollout below is quick: clients stop using a replica this long before it stops.
  stop: { signal: "SIGTERM", grace: "1s", delay: "300ms" },
});

// Stock redis-cli, a new connection every 50 ms, asking which replica answered (its port): "ok PORT"
// or "err WHAT" per try. Sandboxed (the default isolation) on the host network: the proxy on the
// host's 127.0.0.1 is its loopback too.
const clientScript = [
  'H="${TIFFIN_SERVICE_CACHE%:*}"; P="${TIFFIN_SERVICE_CACHE#*:}"',
  'echo "address $TIFFIN_SERVICE_CACHE file $TIFFIN_SERVICES_FILE"',
  "while true; do",
  '  out=$(timeout 3 redis-cli -h "$H" -p "$P" --raw CONFIG GET port 2>&1 | tail -n 1)',
  '  case "$out" in ""|*[!0-9]*) echo "err $out" ;; *) echo "ok $out" ;; esac',
  "  sleep 0.05",
  "done",
].join("\n");
const client = compile({
  name: "client",
  command: clientScript,
  uses: [{ service: "cache", min: 2 }],
  constraints: { labels: { rack: "r4" } },
  resources: { cpu: 0.1, memory: "64Mi", disk: "64Mi" },
  stop: { signal: "SIGTERM", grace: "1s" },
});

void test("a client that uses a service: held until it serves, balanced over its replicas, working through a kill -9 of a replica's agent", { timeout: 120_000 }, async (t) => {
  const c = await Cluster.start({ agents: 4 });
  t.after(() => c.stop());
  const api = new ApiClient({ addr: c.url, token: c.adminToken });
  const logOf = async (): Promise<string[]> => {
    const r = await fetch(`${c.url}/v1/tasks/client/0/logs?stream=stdout`, { headers: { authorization: `Bearer ${c.adminToken}` } });
    return r.ok ? (await r.text()).split("\n").filter((l) => l !== "") : [];
  };

  // `tiffin plan`, as users run it: the start order of a file, and its dependency mistakes at their field.
  const env = { ...process.env, TIFFIN_ADDR: c.url, TIFFIN_TOKEN: c.adminToken, HOME: c.dir };
  const specFile = (name: string, jobs: unknown[]): string => {
    const f = join(c.dir, name);
    writeFileSync(f, JSON.stringify(jobs));
    return f;
  };
  const user = (spec: typeof client): unknown => decompileJob(spec);
  const plan = await run(process.execPath, [bin, "plan", specFile("both.json", [user(client), user(cache)])], { env });
  assert.match(plan.stdout, /^start order: cache, then client$/m);
  assert.ok(plan.stdout.indexOf("job cache") < plan.stdout.indexOf("job client"), plan.stdout);
  const refused = async (file: string): Promise<string> => {
    const r = await run(process.execPath, [bin, "plan", file], { env }).catch((err: { code: number; stderr: string }) => err);
    assert.ok("code" in r && r.code === 2, JSON.stringify(r));
    return "stderr" in r ? r.stderr : "";
  };
  assert.match(await refused(specFile("missing.json", [user(client)])), /uses\[0\].*"cache", which does not exist/s);
  const cyclic = { ...(user(cache) as Record<string, unknown>), uses: ["client"] };
  const clientServing = { ...(user(client) as Record<string, unknown>), ports: { http: {} } };
  assert.match(await refused(specFile("cycle.json", [clientServing, cyclic])), /cycle: cache -> client -> cache/);

  // The server checks dependencies at apply too: the client before any cache job is refused at its field.
  const early = await c.api<{ error: { code: string; problems: { path: string }[] } }>("POST", "/v1/jobs", { spec: client });
  assert.equal(early.status, 422, JSON.stringify(early.body));
  assert.deepEqual([early.body.error.code, early.body.error.problems.map((p) => p.path)], ["TIFFIN_SPEC_INVALID", ["uses[0]"]]);

  // The client before its service serves (the job exists with no replica yet): its agent holds it, saying why.
  await c.apply({ ...cache, replicas: 0 });
  await c.apply(client);
  const held = await waitFor("the client held for its service", 20_000, async () => {
    const task = (await c.status("client")).tasks[0];
    return task?.state === "pending" && task.reason === "waiting for service cache (0 of 2 endpoints serving)" ? task : undefined;
  });
  assert.equal(held.attempts[0]?.startedAt ?? null, null, "never started");

  await c.apply(cache);
  const running = await c.waitRunning("client", 30_000);
  const clientAttempt = running.tasks[0]?.attemptId;
  const startedAt = running.tasks[0]?.attempts[0]?.startedAt ?? 0;
  const eps = await api.endpoints("cache");
  const second = eps.map((e) => e.since).sort((a, b) => a - b)[1];
  assert.ok(second !== undefined && startedAt >= second, `the client started (${startedAt}) after the second cache endpoint (${second})`);

  // Balanced: every replica answers through the proxy.
  await waitFor("every replica reached through the proxy", 20_000, async () => {
    const ports = new Set((await logOf()).filter((l) => l.startsWith("ok ")).map((l) => l.slice(3)));
    return ports.size === 3 ? ports : undefined;
  });
  const address = (await logOf()).find((l) => l.startsWith("address "))?.split(" ") ?? [];
  assert.match(address[1] ?? "", /^127\.0\.0\.1:\d+$/);
  const servicesFile = address[3] ?? "";
  const hostFile = join(c.agents[3]?.dataDir ?? "", "attempts", clientAttempt ?? "", "work", ".tiffin-services.json");
  assert.ok(servicesFile.endsWith("/work/.tiffin-services.json") && existsSync(hostFile), servicesFile);
  const listed = (): number => ((JSON.parse(readFileSync(hostFile, "utf8")) as { services: { cache: { endpoints: unknown[] } } }).services.cache.endpoints.length);
  assert.equal(listed(), 3);

  // kill -9 the agent of a replica (not the client's host, r4).
  const victim = (await c.status("cache")).tasks.find((x) => x.hostName !== "host-4");
  assert.ok(victim?.hostName);
  const before = (await logOf()).length;
  const killedAt = Date.now();
  c.killAgent(Number(victim.hostName.slice("host-".length)) - 1);
  await waitFor("the replica's endpoint gone", 10_000, async () => ((await api.endpoints("cache")).some((e) => e.index === victim.index && e.hostId === victim.hostId) ? undefined : true));
  const goneMs = Date.now() - killedAt;
  await waitFor("the client's services file without it", 5_000, () => listed() === 2 || undefined, 50);
  await waitFor("the replica replaced on another host", 40_000, async () => {
    const now = await api.endpoints("cache");
    return now.length === 3 && now.every((e) => e.hostId !== victim.hostId) ? now : undefined;
  });
  await waitFor("the client's services file with the replacement", 5_000, () => listed() === 3 || undefined, 50);
  // A little more traffic to the new replica.
  await new Promise((r) => setTimeout(r, 500));

  const after = (await logOf()).slice(before);
  const ok = after.filter((l) => l.startsWith("ok ")).length;
  const errors = after.filter((l) => l.startsWith("err "));
  t.diagnostic(`kill -9 to endpoint gone: ${goneMs} ms; client after the kill: ${ok} ok, ${errors.length} errors ${JSON.stringify(errors.slice(0, 5))}`);
  assert.ok(ok >= 20, `the client kept working: ${ok} replies`);
  assert.ok(errors.length <= 3, `bounded errors: ${errors.length} ${JSON.stringify(errors.slice(0, 5))}`);

  // A rollout of the service: each replica's endpoint goes before its stop signal, its replacement joins once healthy.
  const beforeRollout = (await logOf()).length;
  const rolledAt = Date.now();
  const { version } = await c.apply({ ...cache, env: { ...cache.env, ROLLOUT: "2" } });
  const rolled = await waitFor("every replica of the new version serving", 40_000, async () => {
    const now = await api.endpoints("cache");
    return now.length === 3 && now.every((e) => e.version === version) ? now : undefined;
  });
  await waitFor("the client's services file with the new replicas", 5_000, () => {
    const eps = (JSON.parse(readFileSync(hostFile, "utf8")) as { services: { cache: { endpoints: { version: number; port: number }[] } } }).services.cache.endpoints;
    return (eps.length === 3 && eps.every((e) => e.version === version && rolled.some((r) => r.ports[0]?.port === e.port))) || undefined;
  }, 50);
  await new Promise((r) => setTimeout(r, 300));
  const during = (await logOf()).slice(beforeRollout);
  const rolloutOk = during.filter((l) => l.startsWith("ok "));
  const rolloutErrors = during.filter((l) => l.startsWith("err "));
  t.diagnostic(`rollout: ${Date.now() - rolledAt} ms; client during it: ${rolloutOk.length} ok, ${rolloutErrors.length} errors ${JSON.stringify(rolloutErrors.slice(0, 5))}`);
  assert.ok(rolloutOk.length >= 10, `the client kept working through the rollout: ${rolloutOk.length} replies`);
  assert.ok(rolloutErrors.length <= 2, `bounded errors during the rollout: ${rolloutErrors.length} ${JSON.stringify(rolloutErrors.slice(0, 5))}`);
  assert.ok(new Set(rolloutOk.slice(-15).map((l) => l.slice(3))).size >= 2, "balanced over the new replicas after it");

  const final = (await c.status("client")).tasks[0];
  assert.equal(final?.attemptId, clientAttempt, "the client was not restarted when its service moved or rolled out");
  assert.equal(final?.state, "running");

  // Kernel mode (the agents' default as root with nft): the client's host DNATs the service's local port
  // itself, and the rules outlive its agent: killed with -9, the client keeps reaching the cache.
  const clientDir = c.agents[3]?.dataDir ?? "";
  const rules = spawnSync("nft", ["list", "table", "ip", tableName(clientDir)], { encoding: "utf8" });
  if (rules.status !== 0) return void t.diagnostic("userspace mode: no nftables table (not root, no nft, or TIFFIN_SERVICE_PROXY=userspace)");
  assert.match(rules.stdout, new RegExp(`tcp dport ${(address[1] ?? "").split(":")[1] ?? "?"} dnat ip to numgen inc mod 3 map`));
  const attemptDir = join(clientDir, "attempts", clientAttempt ?? "");
  const lines = async (): Promise<string[]> => {
    let text = "";
    for await (const b of readLogs(attemptDir, "stdout")) text += b.toString();
    return text.split("\n");
  };
  const kernelAt = Date.now();
  const beforeAgentKill = (await lines()).length;
  c.killAgent(3);
  const afterKill = await waitFor("the client reaching the cache with its agent dead", 10_000, async () => {
    const now = (await lines()).slice(beforeAgentKill).filter((l) => l.startsWith("ok ") || l.startsWith("err "));
    return now.filter((l) => l.startsWith("ok ")).length >= 5 ? now : undefined;
  }, 100);
  assert.deepEqual(afterKill.filter((l) => l.startsWith("err ")), [], "no error with the agent dead");

  // A restarted agent replaces its table's content (a stale rule goes), and a stop that leaves no task
  // (SIGINT: stop-tasks) removes the table.
  const table = tableName(clientDir);
  assert.equal(spawnSync("nft", ["add", "rule", "ip", table, "out", "tcp", "dport", "1", "accept", "comment", '"stale"']).status, 0);
  const restartAt = Date.now();
  c.startAgent(3);
  await waitFor("the restarted agent's table reloaded", 20_000, () => {
    const now = spawnSync("nft", ["list", "table", "ip", table], { encoding: "utf8" }).stdout;
    return (!now.includes("stale") && now.includes(`dport ${(address[1] ?? "").split(":")[1] ?? "?"} dnat`)) || undefined;
  }, 100);
  const sigintAt = Date.now();
  c.killAgent(3, "SIGINT");
  await waitFor("the table removed by a stop that leaves no task", 20_000, () => spawnSync("nft", ["list", "table", "ip", table]).status === 1 || undefined, 100);
  t.diagnostic(`kernel mode: client's agent killed -9 -> 5 replies ${restartAt - kernelAt} ms; restart -> table reloaded ${sigintAt - restartAt} ms; SIGINT -> table removed ${Date.now() - sigintAt} ms`);
});
