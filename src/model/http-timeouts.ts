// How long the server's and the agent's HTTP servers wait for a slow client (slowloris), declared once
// for both. Node's own defaults let a client hold a connection with headers trickled for 60 s and a
// body for 300 s, checked only every 30 s: a few hundred such connections cost nothing to send.

/** The limits on receiving one request (the answer, a log follow or a watch, may last as it must). */
export interface HttpTimeouts {
  /** Every header received within this. @default 10000 */
  headersTimeoutMs: number;
  /** The whole request, body included, received within this: a 4 MiB package piece at 64 KiB/s fits. @default 120000 */
  requestTimeoutMs: number;
  /** How often open connections are checked against both. @default 1000 */
  checkMs: number;
}

/** The limits in force when none are given. */
export const DefaultHttpTimeouts: HttpTimeouts = { headersTimeoutMs: 10_000, requestTimeoutMs: 120_000, checkMs: 1_000 };

/** The options of `http.createServer` that enforce `timeouts` (a slow request gets 408 and is closed). */
export function httpServerOptions(timeouts: Partial<HttpTimeouts> = {}): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  const t = { ...DefaultHttpTimeouts, ...timeouts };
  // Node requires headersTimeout <= requestTimeout.
  return { headersTimeout: Math.min(t.headersTimeoutMs, t.requestTimeoutMs), requestTimeout: t.requestTimeoutMs, connectionsCheckingInterval: t.checkMs };
}
