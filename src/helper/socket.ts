// The helper's side of helper.sock: accepts agents, sends each the current status on connect and on
// every change, and hands their messages to the helper.
import fs from "node:fs";
import net from "node:net";
import { encodeMessage, LineSplitter, parseAgentMessage } from "./messages.ts";
import type { AgentMessage, HelperMessage, HelperStatus } from "./protocol.ts";
import { helperLog } from "./log.ts";

/** Serves agents on a unix socket. */
export class AgentServer {
  readonly #path: string;
  readonly #server: net.Server;
  readonly #conns = new Set<net.Socket>();

  /** `onConnect`: an agent connected (after it was sent the status). */
  constructor(path: string, getStatus: () => HelperStatus, onMessage: (m: AgentMessage) => void, onConnect: () => void = () => {}) {
    this.#path = path;
    this.#server = net.createServer((sock) => {
      this.#conns.add(sock);
      sock.setEncoding("utf8");
      const lines = new LineSplitter();
      sock.on("data", (chunk: string) => {
        const got = lines.push(chunk);
        if (got === null) return void sock.destroy();
        for (const line of got) {
          const m = parseAgentMessage(line);
          if (m) onMessage(m);
          else helperLog.warn(`${path}: ignoring bad message: ${line.slice(0, 200)}`);
        }
      });
      sock.on("error", () => sock.destroy());
      sock.on("close", () => this.#conns.delete(sock));
      this.#send(sock, { type: "status", status: getStatus() });
      onConnect();
    });
  }

  /** Starts listening; a stale socket file from an earlier run is removed first. */
  async listen(): Promise<void> {
    fs.rmSync(this.#path, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#path, () => {
        this.#server.off("error", reject);
        // The agent's alone: the attempt dir may be traverse-only for a task run as another user.
        fs.chmodSync(this.#path, 0o600);
        resolve();
      });
    });
  }

  /** Sends `status` to every connected agent. */
  broadcast(status: HelperStatus): void {
    for (const sock of this.#conns) this.#send(sock, { type: "status", status });
  }

  /** Sends fence probe `seq` to every connected agent (fence.ts). */
  probe(seq: number): void {
    for (const sock of this.#conns) this.#send(sock, { type: "ping", seq });
  }

  /** Ends every connection (after pending writes), stops listening and removes the socket file. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await Promise.all(
      [...this.#conns].map(
        (s) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(() => s.destroy(), 500);
            s.once("close", () => (clearTimeout(t), resolve()));
            s.end();
          }),
      ),
    );
    await closed;
    fs.rmSync(this.#path, { force: true });
  }

  #send(sock: net.Socket, m: HelperMessage): void {
    if (!sock.destroyed && sock.writable) sock.write(encodeMessage(m));
  }
}
