// GET /healthz and GET /readyz: unauthenticated probes for load balancers and service managers.
// They carry no cluster data (no names, counts, addresses or versions), only whether this process
// answers (healthz) and whether it can serve the API from current state (readyz: the store answers
// and the mirror follows it). Kubernetes' /livez and /readyz split, without their verbose lists.

import type { Store } from "../../state/store.ts";
import type { ServerContext } from "../context.ts";
import { sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";

/** How long readyz waits for the store before calling it unreachable. */
export const StoreProbeMs = 2_000;

/** What readyz checks, each "ok" or what is wrong. */
export interface Readiness {
  ready: boolean;
  store: "ok" | "unreachable";
  mirror: "ok" | "not following";
}

/** Decides readiness from the two checks (pure). */
export function readiness(storeAnswers: boolean, mirrorFollowing: boolean): Readiness {
  return {
    ready: storeAnswers && mirrorFollowing,
    store: storeAnswers ? "ok" : "unreachable",
    mirror: mirrorFollowing ? "ok" : "not following",
  };
}

/** True when the store answers a revision read within `ms`. */
export async function storeAnswers(store: Store, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([store.revision().then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Registers /healthz and /readyz (auth "none"). */
export function healthRoutes(r: Router, ctx: Pick<ServerContext, "store" | "mirror">): void {
  r.add("GET", "/healthz", "none", async ({ res }) => {
    res.setHeader("cache-control", "no-store");
    sendJson(res, 200, { status: "ok" });
  });
  r.add("GET", "/readyz", "none", async ({ res }) => {
    const r = readiness(await storeAnswers(ctx.store, StoreProbeMs), ctx.mirror.following);
    res.setHeader("cache-control", "no-store");
    sendJson(res, r.ready ? 200 : 503, { status: r.ready ? "ready" : "not ready", store: r.store, mirror: r.mirror });
  });
}
