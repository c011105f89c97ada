// The swarm tracker's endpoints (host token): agents announce the pieces they hold, ask whom to fetch
// missing pieces from, and report peers that sent bad bytes. The state behind them is soft (see
// tracker/tracker.ts). The peer token agents require of each other is cluster-wide, shared through
// the store like the join token, and handed out in every answer.

import { Counter } from "prom-client";
import type { SwarmAnnounce, SwarmAnnounceResponse, SwarmHolding, SwarmPlan, SwarmPlanRequest, SwarmReport } from "../../api/types.ts";
import { ErrorCodes, TiffinError } from "../../model/index.ts";
import { Sha256Pattern } from "../../pkg/index.ts";
import type { ServerContext } from "../context.ts";
import { readJson, sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { shareToken } from "../tokens.ts";
import { Tracker } from "../tracker/tracker.ts";
import type { TrackerOptions } from "../tracker/tracker.ts";

/** Most pieces one request may list (a 4 TiB package at 4 MiB pieces). */
const MaxIndexes = 1 << 20;

/** Registers the tracker routes; returns the tracker (tests look inside). */
export function trackerRoutes(r: Router, ctx: ServerContext, opts: Partial<Omit<TrackerOptions, "isDown">> = {}): Tracker {
  const tracker = new Tracker({ ...opts, isDown: (h) => ctx.liveness.status(h) === "down" });
  const badPieces = new Counter({ name: "tiffin_swarm_bad_pieces_total", help: "Pieces agents reported as failing their hash, by the peer that sent them", labelNames: ["peer"] as const, registers: [ctx.metrics.registry] });
  let peerToken: Promise<string> | null = null;
  const answer = async (): Promise<SwarmAnnounceResponse> => {
    peerToken ??= shareToken(ctx.store, ctx.dataDir, "peer.token").catch((err: unknown) => {
      peerToken = null;
      throw err;
    });
    return { epoch: tracker.epoch, peerToken: await peerToken, announceMs: tracker.announceMs };
  };

  r.add("POST", "/v1/agent/swarm/announce", "host", async ({ req, res, hostId }) => {
    const a = announceOf(await readJson(req));
    tracker.announce(hostOf(hostId), a, ctx.clock.now());
    sendJson(res, 200, await answer());
  });

  r.add("POST", "/v1/agent/swarm/plan", "host", async ({ req, res, hostId }) => {
    const q = planRequestOf(await readJson(req));
    const plan = tracker.plan(hostOf(hostId), q, ctx.clock.now());
    sendJson(res, 200, { ...(await answer()), ...plan } satisfies SwarmPlan);
  });

  r.add("POST", "/v1/agent/swarm/report", "host", async ({ req, res, hostId }) => {
    const b = (await readJson(req)) as Partial<SwarmReport> | null;
    if (!b || typeof b !== "object" || !isSha(b.packageId) || typeof b.peer !== "string" || !isSha(b.piece) || typeof b.reason !== "string") {
      throw bad("report", "{packageId, peer, piece, reason}");
    }
    const known = tracker.report(hostOf(hostId), b as SwarmReport, ctx.clock.now());
    badPieces.inc({ peer: b.peer });
    ctx.log.warn({ reporter: hostId, peer: b.peer, packageId: b.packageId, piece: b.piece, reason: b.reason.slice(0, 200), known }, "peer sent a bad piece; no longer handed out for this package");
    sendJson(res, 200, { ok: true });
  });

  return tracker;
}

function hostOf(hostId: string | null): string {
  if (hostId === null) throw new Error("host route without host id");
  return hostId;
}

function bad(what: string, shape: string): TiffinError {
  return new TiffinError(ErrorCodes.BadRequest, `swarm ${what}: body must be ${shape}`, { hint: "the agent and the server may be different versions" });
}

function isSha(v: unknown): v is string {
  return typeof v === "string" && Sha256Pattern.test(v);
}

function isIndexes(v: unknown): v is number[] {
  return Array.isArray(v) && v.length <= MaxIndexes && v.every((i) => Number.isInteger(i) && (i as number) >= 0 && (i as number) < MaxIndexes);
}

function isAddress(v: unknown): v is string {
  return typeof v === "string" && /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(v);
}

function announceOf(v: unknown): SwarmAnnounce {
  const b = v as Partial<SwarmAnnounce> | null;
  const shape = "{address: host:port, full: boolean, packages: [{id, complete, pieces: number[]}]}";
  if (!b || typeof b !== "object" || !isAddress(b.address) || typeof b.full !== "boolean" || !Array.isArray(b.packages)) throw bad("announce", shape);
  const packages: SwarmHolding[] = [];
  for (const p of b.packages as unknown[]) {
    const h = p as Partial<SwarmHolding> | null;
    if (!h || typeof h !== "object" || !isSha(h.id) || typeof h.complete !== "boolean" || !isIndexes(h.pieces)) throw bad("announce", shape);
    packages.push({ id: h.id, complete: h.complete, pieces: h.pieces });
  }
  return { address: b.address, full: b.full, packages };
}

function planRequestOf(v: unknown): SwarmPlanRequest {
  const b = v as Partial<SwarmPlanRequest> | null;
  const optional = (x: unknown): boolean => x === undefined || isIndexes(x);
  if (!b || typeof b !== "object" || !isSha(b.packageId) || !isAddress(b.address) || !Number.isInteger(b.total) || (b.total ?? -1) < 0 || (b.total ?? 0) > MaxIndexes || !isIndexes(b.missing) || !isIndexes(b.inflight) || !optional(b.fallback) || !optional(b.stuck)) {
    throw bad("plan", "{packageId, address: host:port, total, missing: number[], inflight: number[], fallback?: number[], stuck?: number[]}");
  }
  return {
    packageId: b.packageId,
    address: b.address,
    total: b.total as number,
    missing: b.missing,
    inflight: b.inflight,
    ...(b.fallback ? { fallback: b.fallback } : {}),
    ...(b.stuck ? { stuck: b.stuck } : {}),
  };
}
