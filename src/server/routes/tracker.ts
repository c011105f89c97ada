// The swarm tracker's endpoints (host token): agents announce the pieces they hold, ask whom to fetch
// missing pieces from, and report peers that sent bad bytes or lacked what they announced. The state
// behind them is soft (see tracker/tracker.ts) and there is ONE tracker per cluster, the leader's: a
// follower passes an agent's call on to the leader (admin token, the host id in a header), so agents
// connected to different servers see each other. A new leader starts an empty tracker with a new
// epoch, and agents seeing the new epoch announce in full. While no OTHER server is known to lead
// (between terms, or a lone server that missed a lease renewal under load), a server answers from its
// own tracker rather than refuse; a leader that does not answer a passed-on call fails it with 503 and
// fetchers take pieces from the origin; for a few seconds after, calls to it fail at once (a hung
// leader would cost each call the forward timeout). The peer tokens agents require of each other are
// cluster-wide, in the store, rotated by the leader (tracker/peer-tokens.ts), handed out in every answer.

import { Counter } from "prom-client";
import type { PeerTokenRotation, SwarmAnnounceResponse, SwarmPlan } from "../../api/types.ts";
import type { SwarmFetches } from "../../api/swarm-fetches.ts";
import { ErrorCodes, TiffinError } from "../../model/index.ts";
import type { ServerContext } from "../context.ts";
import type { LeaderValue } from "../leader.ts";
import { readJsonObject, sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { PeerTokens, tokensToHand } from "../tracker/peer-tokens.ts";
import { ExcludeReporters, Tracker } from "../tracker/tracker.ts";
import type { ReportOutcome, TrackerOptions } from "../tracker/tracker.ts";
import { ForwardBreaker } from "../tracker/forward-breaker.ts";
import { announceOf, planRequestOf, reportOf } from "../tracker/wire.ts";
import { records } from "./packages.ts";

/** The log line of an agent's report: what the peer did, and for whom the tracker excluded it. */
function reportMessage(kind: "bad-piece" | "missing", outcome: ReportOutcome): string {
  const what = kind === "bad-piece" ? "peer sent a bad piece" : outcome === "forgotten" ? "peer lacked a piece it announced" : "peer keeps announcing pieces it lacks";
  switch (outcome) {
    case "forgotten":
      return `${what}; the piece is forgotten there until it announces it again`;
    case "excluded-for-reporter":
      return `${what}; no longer handed out to the reporter for this package (to others only once ${ExcludeReporters} reporters excluded it)`;
    case "excluded":
      return `${what}; excluded by ${ExcludeReporters} reporters: no longer handed out to anyone for this package`;
    case "ignored":
      return `${what}; already excluded for the reporter or everyone, or unknown here: nothing changes`;
  }
}

/** The header naming the agent's host on a call a follower passes on to the leader. */
export const SwarmHostHeader = "x-tiffin-host";

/** Options of the tracker routes. */
export interface TrackerRouteOptions extends Partial<Omit<TrackerOptions, "isDown">> {
  /** The admin token, for calls passed on to the leader. */
  adminToken: () => string;
  /** How often the leader rotates the peer token. @default 86400000 (24 h) */
  peerTokenRotateMs?: number;
  /** How long a new peer token is accepted before agents fetch with it. @default 2 * announceMs */
  peerTokenSettleMs?: number;
  /** A call passed on to the leader fails (503) after this long. @default 5000 */
  forwardTimeoutMs?: number;
  /** After a passed-on call got no answer (timeout, unreachable), calls to that leader fail (503) at
   * once for this long, then one at a time tries it again (tracker/forward-breaker.ts). @default 5000 */
  forwardRetryMs?: number;
}

/** The tracker routes' handle. */
export interface SwarmTracking {
  /** This server's tracker while it leads (tests look inside), else null. */
  tracker(): Tracker | null;
  /** Stops the rotation timer. */
  close(): void;
}

type What = "announce" | "plan" | "report";

const SwarmBody = "the SwarmAnnounce, SwarmPlanRequest or SwarmReport of src/api/types.ts";

/** Registers the tracker routes and starts the leader's peer token rotation. */
export function trackerRoutes(r: Router, ctx: ServerContext, opts: TrackerRouteOptions): SwarmTracking {
  const { election } = ctx.cluster;
  const registers = [ctx.metrics.registry];
  const badPieces = new Counter({ name: "tiffin_swarm_bad_pieces_total", help: "Pieces agents reported as failing their hash, by the peer that sent them", labelNames: ["peer"] as const, registers });
  const falseAnnounces = new Counter({ name: "tiffin_swarm_false_announces_total", help: "Pieces a peer announced but answered 404 for, as fetchers reported them", labelNames: ["peer"] as const, registers });
  const forwarded = new Counter({
    name: "tiffin_swarm_forwarded_total",
    help: "Agent calls to the tracker a follower passed on to the leader, by outcome (no-leader: answered from its own tracker, nobody else leading; skipped: refused at once, the leader did not answer recently)",
    labelNames: ["result"] as const,
    registers,
  });
  const breaker = new ForwardBreaker({ clock: ctx.clock, openMs: opts.forwardRetryMs ?? 5000 });
  const peerTokens = new PeerTokens({ store: ctx.store, clock: ctx.clock });
  const trackerOptions: TrackerOptions = { ...opts, isDown: (h) => ctx.liveness.status(h) === "down" };
  const settleMs = opts.peerTokenSettleMs ?? 2 * (opts.announceMs ?? 30_000);

  // A server's tracker lives until another server leads: then it starts empty, with a new epoch,
  // rather than trusting what it heard before. Losing the lead with nobody else taking it (a lone
  // server whose lease renewal came late) keeps it: its agents and their pieces are still there.
  let tracker: Tracker | null = null;
  const otherLeader = (): LeaderValue | null => {
    const l = election.leader();
    return l && l.url !== "" && l.id !== ctx.cluster.id ? l : null;
  };
  const unsubscribe = election.onChange(() => {
    if (otherLeader()) tracker = null;
  });
  const local = (): Tracker => (tracker ??= new Tracker(trackerOptions));
  const trackerNow = (): Tracker | null => (election.isLeader() ? local() : null);

  const answer = async (t: Tracker): Promise<SwarmAnnounceResponse> => {
    const tokens = tokensToHand(await peerTokens.get(), ctx.clock.now(), settleMs);
    return { epoch: t.epoch, peerToken: tokens[0]!, peerTokens: tokens, announceMs: t.announceMs };
  };

  const serve = async (what: What, host: string, body: unknown, t: Tracker | null): Promise<unknown> => {
    if (!t) throw new TiffinError(ErrorCodes.Unavailable, "swarm tracker: this server does not lead (any more)", { hint: "the next call finds the new leader; the agent takes pieces from the origin meanwhile" });
    const now = ctx.clock.now();
    switch (what) {
      case "announce":
        t.announce(host, announceOf(body), now);
        return answer(t);
      case "plan": {
        const plan = t.plan(host, planRequestOf(body), now);
        return { ...(await answer(t)), ...plan } satisfies SwarmPlan;
      }
      case "report": {
        const rep = reportOf(body);
        const outcome = t.report(host, rep, now);
        const where = { reporter: host, peer: rep.peer, packageId: rep.packageId, piece: rep.piece, reason: rep.reason, outcome };
        const kind = rep.kind ?? "bad-piece";
        if (kind === "bad-piece") badPieces.inc({ peer: rep.peer });
        else if (outcome !== "ignored") falseAnnounces.inc({ peer: rep.peer });
        if (kind === "bad-piece" || outcome !== "ignored") ctx.log.warn(where, reportMessage(kind, outcome));
        return { ok: true };
      }
    }
  };

  // A follower's side: the leader's answer, status and body as they are. A leader that did not answer
  // recently is not called (the breaker): a hung leader must not cost every agent call the timeout.
  const forward = async (what: What, host: string, body: unknown): Promise<{ status: number; text: string }> => {
    const leader = otherLeader();
    if (!leader) throw new Error("forward without another leader");
    const key = `${leader.id} ${leader.incarnation} ${leader.url}`;
    if (!breaker.allow(key)) {
      forwarded.inc({ result: "skipped" });
      const wait = (breaker.openUntil(key) ?? 0) - ctx.clock.now();
      const again = wait > 0 ? `it is asked again in ${Math.ceil(wait / 1000)} s` : "another call is trying it again";
      throw new TiffinError(ErrorCodes.Unavailable, `swarm tracker: the leader at ${leader.url} did not answer recently; ${again}`, {
        hint: "the leader did not answer a call passed on to it recently, so this server does not wait for it; the agent takes pieces from the origin meanwhile",
      });
    }
    try {
      const res = await fetch(`${leader.url}/v1/internal/swarm/${what}`, {
        method: "POST",
        headers: { authorization: `Bearer ${opts.adminToken()}`, "content-type": "application/json", [SwarmHostHeader]: host },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(opts.forwardTimeoutMs ?? 5000),
      });
      const text = await res.text();
      breaker.answered(key);
      forwarded.inc({ result: res.status === 200 ? "ok" : "refused" });
      return { status: res.status, text };
    } catch (err) {
      breaker.unanswered(key);
      forwarded.inc({ result: "unreachable" });
      throw new TiffinError(ErrorCodes.Unavailable, `swarm tracker: the leader at ${leader.url} did not answer: ${err instanceof Error ? err.message : String(err)}`, { hint: "the agent takes pieces from the origin meanwhile" });
    }
  };

  for (const what of ["announce", "plan", "report"] as const) {
    r.add("POST", `/v1/agent/swarm/${what}`, "host", async ({ req, res, hostId }) => {
      if (hostId === null) throw new Error("host route without host id");
      const body = await readJsonObject(req, SwarmBody);
      if (election.isLeader() || !otherLeader()) {
        if (!election.isLeader()) forwarded.inc({ result: "no-leader" });
        return sendJson(res, 200, await serve(what, hostId, body, local()));
      }
      const out = await forward(what, hostId, body);
      res.writeHead(out.status, { "content-type": "application/json" });
      res.end(out.text);
    });
  }

  // The leader's side of a passed-on call. Never passed on again: a server that stopped leading
  // answers 503, and the follower learns of the new leader from its watch.
  r.add("POST", "/v1/internal/swarm/:what", "admin", async ({ req, res, params }) => {
    const what = params["what"];
    const host = req.headers[SwarmHostHeader];
    if ((what !== "announce" && what !== "plan" && what !== "report") || typeof host !== "string" || !/^[A-Za-z0-9._-]{1,200}$/.test(host)) {
      throw new TiffinError(ErrorCodes.BadRequest, `swarm: /v1/internal/swarm/announce|plan|report with an ${SwarmHostHeader} header, got ${what ?? "?"}`, { hint: "sent by other Tiffin servers only" });
    }
    sendJson(res, 200, await serve(what, host, await readJsonObject(req, SwarmBody), trackerNow()));
  });

  // The fetches in flight, as the cluster's one tracker (the leader's) knows them. A follower asks the
  // leader with the caller's own token (the leader checks it as this server did: no more rights),
  // through the same breaker as agents' calls: a leader that did not answer is not waited for.
  r.add("GET", "/v1/swarm/fetches", "admin", async ({ req, res }) => {
    const t = election.isLeader() || !otherLeader() ? local() : null;
    if (t === null) {
      const leader = otherLeader();
      if (!leader) throw new Error("no tracker and no other leader");
      const key = `${leader.id} ${leader.incarnation} ${leader.url}`;
      const hint = "ask again in a few seconds, or ask the leader itself (`tiffin cluster` names it)";
      if (!breaker.allow(key)) throw new TiffinError(ErrorCodes.Unavailable, `swarm fetches: the leader at ${leader.url} did not answer recently`, { hint });
      const got = await fetch(`${leader.url}/v1/swarm/fetches`, { headers: { authorization: req.headers.authorization ?? "" }, signal: AbortSignal.timeout(opts.forwardTimeoutMs ?? 5000) })
        .then(async (r) => ({ status: r.status, text: await r.text() }))
        .catch((err: unknown) => {
          breaker.unanswered(key);
          throw new TiffinError(ErrorCodes.Unavailable, `swarm fetches: the leader at ${leader.url} did not answer: ${err instanceof Error ? err.message : String(err)}`, { hint });
        });
      breaker.answered(key);
      res.writeHead(got.status, { "content-type": "application/json" });
      res.end(got.text);
      return;
    }
    const view = t.fetches(ctx.clock.now());
    const byId = new Map((view.packages.length > 0 ? await records(ctx) : []).map((p) => [p.id, p]));
    const packages = view.packages.map((p) => ({ ...p, name: byId.get(p.id)?.name ?? null, version: byId.get(p.id)?.version ?? null }));
    sendJson(res, 200, { ...view, packages } satisfies SwarmFetches);
  });

  r.add("POST", "/v1/swarm/peer-token/rotate", "admin", async ({ res }) => {
    const { record } = await peerTokens.rotate();
    ctx.log.info({ rotatedAt: record.rotatedAt }, "peer token rotated by an admin");
    sendJson(res, 200, { rotatedAt: record.rotatedAt, accepted: record.previous === null ? 1 : 2 } satisfies PeerTokenRotation);
  });

  // The leader's timer: checked often, so a new leader rotates on time whoever rotated last.
  const rotateMs = opts.peerTokenRotateMs ?? 24 * 3600_000;
  const timer = setInterval(() => {
    if (!election.isLeader()) return;
    void peerTokens.rotate({ olderThanMs: rotateMs }).then(
      (r) => r.rotated && ctx.log.info({ rotatedAt: r.record.rotatedAt, everyMs: rotateMs }, "peer token rotated"),
      (err: unknown) => ctx.log.warn({ err }, "rotating the peer token failed; will retry"),
    );
  }, Math.max(100, Math.min(60_000, Math.floor(rotateMs / 4))));
  timer.unref();

  return {
    tracker: () => trackerNow(),
    close: () => {
      clearInterval(timer);
      unsubscribe();
    },
  };
}
