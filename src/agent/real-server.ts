// Tests only: the REAL server (src/server/main.ts) in a child process, the way an operator runs it
// (the agent layer may not import the server; see eslint.config.js).
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestContext } from "node:test";
import { startAgent } from "./main.ts";
import type { AgentHandle } from "./main.ts";
import { killAttempts, testLogger } from "./test-fixtures.ts";

const serverMain = new URL("../server/main.ts", import.meta.url);

/** A running server process and its tokens. */
export interface RealServer {
  child: ChildProcess;
  url: string;
  adminToken: string;
  joinToken: string;
  /** SIGTERM, SIGKILL after 3 s. */
  stop(): Promise<void>;
}

/** Starts the real server with short liveness timings, its data in `dataDir`; `swarm` goes to
 * ServerOptions.swarm (announce interval, peer token rotation). */
export function startRealServer(dataDir: string, opts: { swarm?: { announceMs?: number; peerTokenRotateMs?: number }; taskMetricsBucketMs?: number; /** More ServerOptions, as JSON. */ extra?: Record<string, unknown> } = {}): Promise<RealServer> {
  const code = `
    const { startServer } = await import(${JSON.stringify(serverMain.href)});
    const s = await startServer({ dataDir: process.env.DATA, listen: "127.0.0.1:0", log: "silent",
      timing: { heartbeatMs: 250, suspectMs: 1500, downMs: 3000, fenceMs: 2000 }, swarm: JSON.parse(process.env.SWARM), ...JSON.parse(process.env.EXTRA) });
    process.stdout.write(JSON.stringify({ url: s.url, adminToken: s.adminToken, joinToken: s.joinToken }) + "\\n");
    process.on("SIGTERM", () => s.close().then(() => process.exit(0)));`;
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "--input-type=module", "-e", code], {
    env: { ...process.env, DATA: dataDir, SWARM: JSON.stringify(opts.swarm ?? {}), EXTRA: JSON.stringify({ ...(opts.taskMetricsBucketMs ? { taskMetricsBucketMs: opts.taskMetricsBucketMs } : {}), ...opts.extra }) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await Promise.race([new Promise((r) => child.once("exit", r)), new Promise((r) => setTimeout(r, 3000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("\n")) resolve({ child, stop, ...(JSON.parse(out.split("\n")[0]!) as { url: string; adminToken: string; joinToken: string }) });
    });
    child.once("exit", (c) => reject(new Error(`server process exited with ${c}`)));
  });
}

/** A real server, one real agent on it, and an admin-token API caller, all removed after the test. */
export interface ServerAndAgent {
  root: string;
  agentDir: string;
  server: RealServer;
  agent: AgentHandle;
  /** fetch against the server with the admin token (JSON, or raw bytes with `raw`). */
  api(p: string, init?: RequestInit & { raw?: boolean }): Promise<Response>;
}

/** Starts a real server in a child process and one agent (in this process) registered with it. */
export async function serverAndAgent(t: TestContext, opts: { prefix: string; name: string; labels?: Record<string, string>; metricsReportMs?: number; taskMetricsBucketMs?: number; /** `--allow-unsandboxed` (tests' jobs with isolation "none"). @default true */ allowUnsandboxed?: boolean; /** More ServerOptions, as JSON. */ extra?: Record<string, unknown> }): Promise<ServerAndAgent> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), opts.prefix));
  const agentDir = path.join(root, "agent");
  // As /var/lib is: an isolation "none" task (run as the task user) passes through to its work dir.
  if (opts.allowUnsandboxed ?? true) fs.chmodSync(root, 0o711);
  let server: RealServer | null = null;
  let agent: AgentHandle | null = null;
  t.after(async () => {
    await agent?.close("leave-tasks").catch(() => {});
    killAttempts(agentDir);
    await server?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const s = await startRealServer(path.join(root, "server"), { ...(opts.taskMetricsBucketMs ? { taskMetricsBucketMs: opts.taskMetricsBucketMs } : {}), ...(opts.extra ? { extra: opts.extra } : {}) });
  server = s;
  agent = await startAgent({ server: s.url, joinToken: s.joinToken, dataDir: agentDir, name: opts.name, labels: opts.labels ?? {}, log: testLogger(), allowUnsandboxed: opts.allowUnsandboxed ?? true, ...(opts.metricsReportMs !== undefined ? { metricsReportMs: opts.metricsReportMs } : {}) });
  const api = (p: string, init: RequestInit & { raw?: boolean } = {}): Promise<Response> =>
    fetch(`${s.url}${p}`, { ...init, headers: { authorization: `Bearer ${s.adminToken}`, "content-type": init.raw ? "application/octet-stream" : "application/json" } });
  return { root, agentDir, server: s, agent, api };
}
