// Prometheus HTTP service discovery end to end: Debian's real `prometheus` binary, given only an
// http_sd_config pointing at a real server's `GET /v1/prometheus/sd` (admin token), finds a real task
// run by a real agent, scrapes its metrics endpoint directly and stores its series with the task's
// job/index/host/version labels (checked through Prometheus's own HTTP API on loopback).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { test } from "node:test";
import { serverAndAgent } from "./real-server.ts";
import { testSpec, waitFor } from "./test-fixtures.ts";

const prometheus = spawnSync("prometheus", ["--version"]).status === 0;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

void test("a real Prometheus discovers a task through /v1/prometheus/sd and scrapes it with job/index/host/version labels", { skip: prometheus ? false : "prometheus not installed (apt-get install prometheus)", timeout: 120_000 }, async (t) => {
  const { api, server, root } = await serverAndAgent(t, { prefix: "tiffin-promsd-", name: "sd-host-1" });
  const metrics = { port: "http", path: "/custom-metrics", intervalMs: 1000, timeoutMs: 800, signals: { clients: null, errors: null, latency: null }, quantile: 0.99 };
  const command = ["node", "-e", 'let n = 0; require("http").createServer((q, s) => { n++; s.end(q.url === "/custom-metrics" ? `# TYPE app_requests_total counter\\napp_requests_total ${n}\\n` : "no"); }).listen(+process.env.PORT_HTTP, "127.0.0.1")'];
  const spec = testSpec({ name: "sdjob", ports: ["http"], isolation: "none", metrics, command });
  assert.equal((await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec }) })).status, 200);

  const groups = await waitFor("the task listed by the discovery endpoint", async () => {
    const g = (await (await api("/v1/prometheus/sd")).json()) as { targets: string[]; labels: Record<string, string> }[];
    return g.length === 1 ? g : null;
  }, 30_000);
  assert.deepEqual({ ...groups[0]?.labels, __meta_tiffin_attempt: "" }, { job: "sdjob", namespace: "default", index: "0", host: "sd-host-1", version: "1", __metrics_path__: "/custom-metrics", __meta_tiffin_attempt: "", __meta_tiffin_host_id: groups[0]?.labels["__meta_tiffin_host_id"], __meta_tiffin_port: "http" });
  assert.match(groups[0]?.targets[0] ?? "", /^127\.0\.0\.1:\d+$/);
  // Without the admin token: refused.
  assert.equal((await fetch(`${server.url}/v1/prometheus/sd`)).status, 401);

  const promPort = await freePort();
  const dir = path.join(root, "prometheus");
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "token"), server.adminToken);
  fs.writeFileSync(path.join(dir, "prometheus.yml"), [
    "global: { scrape_interval: 1s, evaluation_interval: 1s }",
    "scrape_configs:",
    "  - job_name: tiffin-tasks",
    "    http_sd_configs:",
    `      - url: ${server.url}/v1/prometheus/sd`,
    "        refresh_interval: 1s",
    // `type: Bearer` spelled out: Debian's Prometheus 2.42 sends the bare token in http_sd without it.
    `        authorization: { type: Bearer, credentials_file: ${path.join(dir, "token")} }`,
    "",
  ].join("\n"));
  const check = spawnSync("promtool", ["check", "config", path.join(dir, "prometheus.yml")], { encoding: "utf8" });
  assert.equal(check.status, 0, `promtool check config: ${check.stdout}${check.stderr}`);
  const proc = spawn("prometheus", [`--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "data")}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (b: Buffer) => void (stderr = (stderr + b.toString()).slice(-4000)));
  t.after(async () => {
    if (proc.exitCode === null) {
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("exit", r));
    }
  });
  const prom = async <T>(p: string): Promise<T | null> => {
    try {
      const res = await fetch(`http://127.0.0.1:${promPort}${p}`);
      return res.ok ? ((await res.json()) as T) : null;
    } catch {
      return null;
    }
  };
  type Targets = { data: { activeTargets: { labels: Record<string, string>; health: string; scrapeUrl: string }[] } };
  const target = await waitFor("Prometheus scraping the discovered task (health up)", async () => {
    const r = await prom<Targets>("/api/v1/targets");
    return r?.data.activeTargets.find((x) => x.health === "up") ?? null;
  }, 60_000).catch((err: unknown) => assert.fail(`${String(err)}; prometheus said: ${stderr}`));
  assert.deepEqual(target.labels, { job: "sdjob", namespace: "default", index: "0", host: "sd-host-1", version: "1", instance: groups[0]?.targets[0] });
  assert.match(target.scrapeUrl, /^http:\/\/127\.0\.0\.1:\d+\/custom-metrics$/);
  type Query = { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  const sample = await waitFor("the task's series stored by Prometheus", async () => {
    const r = await prom<Query>(`/api/v1/query?query=${encodeURIComponent("app_requests_total")}`);
    return r?.data.result[0] ?? null;
  }, 30_000);
  assert.deepEqual({ ...sample.metric, instance: "" }, { __name__: "app_requests_total", job: "sdjob", namespace: "default", index: "0", host: "sd-host-1", version: "1", instance: "" });
  assert.ok(Number(sample.value[1]) >= 1, `scraped: ${sample.value[1]}`);
});
