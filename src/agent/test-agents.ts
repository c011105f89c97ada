// A fake server, a data dir, and real agents on them for a test; at its end every agent is closed
// (its tasks left), every attempt's processes killed and the dir removed.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestContext } from "node:test";
import { startAgent } from "./main.ts";
import type { AgentHandle, AgentOptions } from "./main.ts";
import { FakeServer, killAttempts, testLogger } from "./test-fixtures.ts";

/** What `agentEnv` gives a test. */
export interface AgentEnv {
  server: FakeServer;
  dataDir: string;
  /** Starts an agent on the env's server and data dir (host `box-1`, 4 cores, 4 GiB unless `over` says). */
  start(over?: Partial<AgentOptions>): Promise<AgentHandle>;
}

/** See the file comment. `defaults` apply to every agent the env starts, before each start's own. */
export async function agentEnv(t: TestContext, o: { prefix?: string; defaults?: Partial<AgentOptions> } = {}): Promise<AgentEnv> {
  const server = new FakeServer();
  await server.up();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), o.prefix ?? "tiffin-agent-"));
  const agents: AgentHandle[] = [];
  t.after(async () => {
    for (const a of agents) await a.close("leave-tasks").catch(() => {});
    killAttempts(dataDir);
    await server.down();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    server,
    dataDir,
    start: async (over = {}) => {
      const a = await startAgent({ server: server.url, joinToken: server.joinToken, dataDir, name: "box-1", labels: {}, resources: { cores: 4, memoryMiB: 4096 }, log: testLogger(), ...o.defaults, ...over });
      agents.push(a);
      return a;
    },
  };
}
