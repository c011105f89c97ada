// Every etcd call goes through `runCall`: a deadline, retries only where they cannot apply a write
// twice, and etcd's errors turned into the Store's (LeaseNotFoundError, TiffinError with a hint).
import { setTimeout as sleep } from "node:timers/promises";
import { ErrorCodes, TiffinError } from "../model/index.ts";

/** How a call may be retried. "read": after any transient error (reads and lease keep-alives are
 * idempotent). "write": only when the request surely never reached etcd's log (no connection, no
 * leader yet, a host's circuit open), since a put or txn retried after an ambiguous failure could
 * apply twice, and a compare-and-set would then report failure for its own success. */
export type CallKind = "read" | "write";

/** Messages that mean "etcd did not take the request": safe to resend even a write. */
const NotSent = [
  "No connection established",
  "ECONNREFUSED",
  "failed to connect",
  "etcdserver: no leader",
  "etcdserver: not capable",
  "etcdserver: too many requests",
  "raft proposal dropped",
  "circuit breaker is open",
];

/** Messages of transient trouble after which a read may be resent. */
const Transient = ["UNAVAILABLE", "etcdserver: server stopped", "DEADLINE_EXCEEDED", "etcdserver: leader changed", "etcdserver: request timed out", "ECONNRESET", "Connection dropped", "INTERNAL"];

/** Whether `err` allows another try of a call of `kind`. */
export function retryable(kind: CallKind, err: unknown): boolean {
  const text = errorText(err);
  if (NotSent.some((m) => text.includes(m))) return true;
  return kind === "read" && Transient.some((m) => text.includes(m));
}

/** The text of an error including its class name (etcd3 rewrites gRPC errors into typed classes). */
export function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.constructor.name}: ${err.message}`;
  return String(err);
}

/** Whether etcd said a lease does not exist. */
export function isLeaseNotFound(err: unknown): boolean {
  return errorText(err).includes("requested lease not found");
}

/** Whether etcd said a revision was compacted. */
export function isCompacted(err: unknown): boolean {
  return errorText(err).includes("required revision has been compacted");
}

/** Options of one call. */
export interface CallContext {
  /** What the call does, for messages ("put /jobs/x"). */
  what: string;
  kind: CallKind;
  timeoutMs: number;
  endpoints: string[];
  /** Checked before every try: a closed store stops retrying. */
  closed: () => boolean;
}

/**
 * Runs `fn` (given the gRPC deadline to use) until it succeeds, fails for good, or the time is up.
 * Errors `passThrough` accepts (expected outcomes) are rethrown as they are; other failures become a
 * TiffinError `TIFFIN_UNAVAILABLE` (`TIFFIN_TIMEOUT` once the deadline passed) that says whether a
 * write may have been applied.
 */
export async function runCall<T>(ctx: CallContext, fn: (deadline: Date) => Promise<T>, passThrough: (err: unknown) => boolean = () => false): Promise<T> {
  const deadline = Date.now() + ctx.timeoutMs;
  let backoff = 25;
  for (;;) {
    if (ctx.closed()) throw new Error(`etcd store is closed (${ctx.what})`);
    let err: unknown;
    try {
      return await withTimer(fn(new Date(deadline)), deadline);
    } catch (e) {
      err = e;
    }
    if (passThrough(err)) throw err;
    const limit = limitError(err);
    if (limit) throw limit;
    const left = deadline - Date.now();
    if (left > backoff && retryable(ctx.kind, err) && !ctx.closed()) {
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 500);
      continue;
    }
    // A timer may fire a millisecond before Date.now() reaches the deadline: a deadline error with no
    // time left for another try is the timeout, not an outage.
    throw unavailable(ctx, err, left <= 0 || (left <= backoff && errorText(err).includes("DEADLINE_EXCEEDED")));
  }
}

function unavailable(ctx: CallContext, err: unknown, timedOut: boolean): TiffinError {
  const why = timedOut ? `no answer within ${ctx.timeoutMs} ms` : errorText(err);
  const maybe = ctx.kind === "write" && !retryable("write", err) ? " The write may or may not have been applied." : "";
  return new TiffinError(timedOut ? ErrorCodes.Timeout : ErrorCodes.Unavailable, `etcd ${ctx.what} failed: ${why}.${maybe}`, {
    hint: `check that a quorum of the etcd members (${ctx.endpoints.join(", ")}) is up and reachable`,
  });
}

/** etcd limits that a request ran into, as errors saying which server flag to raise. */
function limitError(err: unknown): TiffinError | null {
  const text = errorText(err);
  if (text.includes("too many operations in txn request")) {
    return new TiffinError(ErrorCodes.TooLarge, `etcd refused a transaction: ${text}`, { hint: "start etcd with a higher --max-txn-ops (Tiffin writes a job's placement in one transaction; 10000 fits most jobs)" });
  }
  if (text.includes("request is too large")) {
    return new TiffinError(ErrorCodes.TooLarge, `etcd refused a request: ${text}`, { hint: "start etcd with a higher --max-request-bytes (e.g. 10485760)" });
  }
  return null;
}

/** Rejects when `deadline` passes first (a gRPC deadline covers the call, not what precedes it). */
async function withTimer<T>(p: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("DEADLINE_EXCEEDED: timed out")), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
