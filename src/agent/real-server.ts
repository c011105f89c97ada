// Tests only: the REAL server (src/server/main.ts) in a child process, the way an operator runs it
// (the agent layer may not import the server; see eslint.config.js).
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";

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

/** Starts the real server with short liveness timings, its data in `dataDir`. */
export function startRealServer(dataDir: string): Promise<RealServer> {
  const code = `
    const { startServer } = await import(${JSON.stringify(serverMain.href)});
    const s = await startServer({ dataDir: process.env.DATA, listen: "127.0.0.1:0", log: "silent",
      timing: { heartbeatMs: 250, suspectMs: 1500, downMs: 3000, fenceMs: 2000 } });
    process.stdout.write(JSON.stringify({ url: s.url, adminToken: s.adminToken, joinToken: s.joinToken }) + "\\n");
    process.on("SIGTERM", () => s.close().then(() => process.exit(0)));`;
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "--input-type=module", "-e", code], {
    env: { ...process.env, DATA: dataDir },
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
