// Opening an exec session: `POST` with `Upgrade: tiffin-exec.v1` on node's HTTP client (the wire is in
// ./exec-wire.ts). Node-only, used by the CLI's client and by the server towards the agent.

import http from "node:http";
import https from "node:https";
import type { Duplex } from "node:stream";
import { execUpgradeProtocol } from "./exec-wire.ts";

/** What an upgrade request got: the switched socket, or a plain response (an error, as ApiErrorBody). */
export type UpgradeResult = { kind: "upgraded"; socket: Duplex; head: Buffer } | { kind: "response"; status: number; statusText: string; contentType: string | null; body: string };

/**
 * Sends `POST url` asking to switch to the exec protocol. Rejects on network errors and when nothing
 * answered within `timeoutMs` (the socket then is destroyed); a session that started has no timeout.
 */
export function requestUpgrade(url: string, authorization: string | null, timeoutMs: number, signal: AbortSignal | null = null, ca: string | null = null, tls: https.RequestOptions = {}): Promise<UpgradeResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { connection: "Upgrade", upgrade: execUpgradeProtocol };
    if (authorization !== null) headers["authorization"] = authorization;
    // https: trusting the pinned cluster CA only, when one is given (issue 17, mTLS); `tls`: the
    // server's own certificate and its check of the agent's (server/agent-dial.ts).
    const req = url.startsWith("https:") ? https.request(url, { ...tls, method: "POST", headers, ...(signal ? { signal } : {}), ...(ca !== null ? { ca } : {}) }) : http.request(url, { method: "POST", headers, ...(signal ? { signal } : {}) });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "ETIMEDOUT" })), timeoutMs);
    req.once("upgrade", (_res, socket, head) => {
      clearTimeout(timer);
      resolve({ kind: "upgraded", socket, head });
    });
    req.once("response", (res) => {
      clearTimeout(timer);
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.once("end", () => resolve({ kind: "response", status: res.statusCode ?? 0, statusText: res.statusMessage ?? "", contentType: res.headers["content-type"] ?? null, body: Buffer.concat(chunks).toString("utf8") }));
      res.once("error", reject);
    });
    req.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}
