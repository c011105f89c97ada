// A shared helper process: `main.ts --pool SOCKET --max K DIR` runs the attempt of DIR and takes up to
// K-1 more from its agent over a control socket, so Node's fixed cost (about 10 MiB PSS a process)
// is paid once per K tasks. Each attempt is as in a process of its own (host.ts); the process exits
// once its last attempt is done, and from that moment refuses new ones, so an agent never hands an
// attempt to a process on its way out.
//
// Control protocol (newline-delimited JSON, one request per connection is enough):
//   agent -> pool   {"type":"run","dir":"/abs/attempt/dir"}
//   pool -> agent   {"ok":true}  |  {"ok":false,"reason":"full"|"closing"|"bad request"}
// A request for a directory the process runs already is answered ok and changes nothing.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { helperChecks } from "./checks.ts";
import type { PoolReply, PoolRequest } from "./protocol-schema.ts";
import { AttemptHost } from "./host.ts";
import type { HelperOptions } from "./host.ts";
import { LineSplitter } from "./messages.ts";
import { helperLog } from "./log.ts";

export type { PoolReply, PoolRequest } from "./protocol-schema.ts";

/** Parses a control line; null when it is not a PoolRequest (checked by the JSON Schema derived from
 * poolRequestSchema, so zod stays out of the helper) or names a relative directory. */
export function parsePoolRequest(line: string): PoolRequest | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null; // not JSON
  }
  const r = helperChecks().poolRequest(v);
  if (!r.ok) return null;
  const req = r.value as PoolRequest; // checked just above by poolRequestSchema's JSON Schema
  return path.isAbsolute(req.dir) ? req : null;
}

/** Decides a request (pure): take it while the process has room and is not closing. `running`: the
 * attempts whose task may still run (AttemptHost.live): one that ended and waits for its agent's ack
 * holds no slot, so an agent that released it on the ack does not hear "full" for a moment. */
export function admit(state: { running: number; max: number; closing: boolean }): PoolReply {
  if (state.closing) return { ok: false, reason: "closing" };
  if (state.running >= state.max) return { ok: false, reason: "full" };
  return { ok: true };
}

/** Options of runPool. */
export interface PoolOptions extends HelperOptions {
  /** The control socket's path. */
  socket: string;
  /** Attempts at once. */
  max: number;
  /** The first attempt's directory. */
  first: string;
}

/** Runs a shared helper process until its last attempt is done; resolves with the exit code. */
export async function runPool(o: PoolOptions): Promise<number> {
  helperLog.debug({ socket: o.socket, max: o.max, first: o.first }, "shared helper started");
  const host = new AttemptHost(o);
  const undo = host.installProcessHandlers();
  let closing = false;
  let worst = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  const taken = new Set<string>();
  const take = (dir: string): void => {
    // Idempotent: a directory this process runs already is not started twice (a retried request).
    if (taken.has(path.resolve(dir))) return;
    taken.add(path.resolve(dir));
    void host.run(dir).then((code) => {
      taken.delete(path.resolve(dir));
      worst = Math.max(worst, code === 2 ? 0 : code);
      if (host.running === 0) {
        // Synchronously, before any later request is read: the next one is refused.
        closing = true;
        done();
      }
    });
  };
  const server = net.createServer((sock) => {
    const lines = new LineSplitter(8192);
    sock.setEncoding("utf8");
    sock.on("error", () => sock.destroy());
    sock.on("data", (chunk: string) => {
      for (const line of lines.push(chunk) ?? ["!"]) {
        const req = parsePoolRequest(line);
        const again = req !== null && !closing && taken.has(path.resolve(req.dir));
        const reply: PoolReply = req === null ? { ok: false, reason: "bad request" } : again ? { ok: true } : admit({ running: host.live, max: o.max, closing });
        if (req !== null && reply.ok) take(req.dir);
        sock.write(`${JSON.stringify(reply)}\n`);
      }
    });
  });
  fs.rmSync(o.socket, { force: true });
  // Bound and listened under a temporary name, then renamed: bind() makes the file and listen() comes a
  // moment later, and an agent that saw the file in between had its connection refused (and gave up
  // on the process). A rename is atomic: the path appears listening.
  const bound = `${o.socket}.${process.pid}`;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(bound, () => {
        server.off("error", reject);
        resolve();
      });
    });
    fs.chmodSync(bound, 0o600);
    fs.renameSync(bound, o.socket);
  } catch (e) {
    // Without its control socket the process still runs its first attempt; the agent starts others elsewhere.
    helperLog.error(`control socket ${o.socket}: ${String(e)}`);
  }
  take(o.first);
  await finished;
  server.close();
  fs.rmSync(o.socket, { force: true });
  undo();
  return worst;
}
