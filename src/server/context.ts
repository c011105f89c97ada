// What route handlers share, and the compare-and-set loop every handler write goes through.

import type { AgentDial } from "./agent-dial.ts";
import type { UsageHistory } from "./usage-history.ts";
import type { TaskMetricsHistory } from "./task-metrics-history.ts";
import type { Logger } from "pino";
import type { Clock, RecommendPolicy } from "../model/index.ts";
import { ErrorCodes, TiffinError } from "../model/index.ts";
import type { Compare, Op, Store, TxnResult } from "../state/store.ts";
import type { AssignmentHub } from "./assignments.ts";
import type { LeaderElection } from "./leader.ts";
import type { Liveness, Timing } from "./liveness.ts";
import type { Metrics } from "./metrics.ts";
import type { Mirror } from "./mirror.ts";
import type { Reconciler } from "./reconcile/loop.ts";
import type { SecretBox } from "./secrets/box.ts";
import type { LiveCa } from "./tls/live.ts";

/** The parts of a running server. */
export interface ServerContext {
  store: Store;
  mirror: Mirror;
  liveness: Liveness;
  reconciler: Reconciler;
  hub: AssignmentHub;
  clock: Clock;
  timing: Timing;
  metrics: Metrics;
  log: Logger;
  dataDir: string;
  /** Open streams (SSE, log proxies), ended when the server closes. */
  streams: Set<{ close(): void }>;
  /** This server among the servers sharing the store. */
  cluster: { id: string; url: string; election: LeaderElection };
  /** Recent resource samples per task (absent in contexts built before usage sampling). */
  usage?: UsageHistory;
  /** Tasks' metrics summaries from agents (absent in contexts built before task metrics). */
  taskMetrics?: TaskMetricsHistory;
  /** True when the server speaks HTTPS (issue 17, mTLS): host routes then need the host's client
   * certificate, but for `POST /v1/agent/certificate` (the bootstrap, with the host token). */
  tlsOn?: boolean;
  /** The cluster CAs in use under TLS (tls/live.ts: rotations); absent on a plain server. */
  ca?: LiveCa;
  /** How recommendations are computed (`GET /v1/jobs/:name/recommendation`). @default DefaultRecommendPolicy */
  recommendPolicy?: RecommendPolicy;
  /** Seals users' secrets for the store and opens them for the agents of tasks that use them. */
  secrets: SecretBox;
  /** How agents' endpoints are dialled (https with the cluster CA under TLS). @default plain HTTP */
  agentDial?: AgentDial;
}

/** Attempts of a compare-and-set before giving up with TIFFIN_CONFLICT. */
const CasAttempts = 8;

/**
 * Builds a transaction from the mirror and runs it; if its compares fail (someone wrote in between),
 * waits for the mirror to see that write and builds again. `build` returning null means nothing to
 * write. Resolves once the mirror has the write, so the caller's next read sees it.
 */
export async function casLoop(ctx: ServerContext, what: string, build: () => { compare: Compare[]; success: Op[] } | null): Promise<TxnResult | null> {
  for (let i = 0; i < CasAttempts; i++) {
    const req = build();
    if (!req) return null;
    const r = await ctx.store.txn(req);
    await ctx.mirror.waitFor(r.revision);
    if (r.succeeded) return r;
  }
  throw new TiffinError(ErrorCodes.Conflict, `${what}: the state kept changing during ${CasAttempts} attempts to write`, { hint: "retry the request" });
}
