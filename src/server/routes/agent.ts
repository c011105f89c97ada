// Agent endpoints: register (join token), heartbeat, assignments stream and attempt reports (host token).

import { createHash } from "node:crypto";
import type { Assignment, HeartbeatResponse, RegisterResponse } from "../../api/types.ts";
import { domainOf, ErrorCodes, isTerminal, TiffinError } from "../../model/index.ts";
import type { Attempt, Host } from "../../model/index.ts";
import type { Compare, Op } from "../../state/store.ts";
import { casLoop } from "../context.ts";
import type { ServerContext } from "../context.ts";
import { readJsonObject, sendJson, startSse } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { stableJson } from "../keys.ts";
import { attemptKey, endpointKey, hostKey, hostTokenKey, Kinds } from "../kinds.ts";
import { newToken, sameSecret } from "../tokens.ts";
import { heartbeatOf, registerOf, reportOf } from "./agent-input.ts";
import { metricStopEnd } from "../metric-verdicts.ts";
import { recordChecks } from "../remediation/checks-store.ts";
import { pendingRepair, recordRepairResult } from "../remediation/repairs.ts";

const base32 = "abcdefghijklmnopqrstuvwxyz234567";

/** The host id of a host name: stable, so an agent re-registering with the same name gets the same
 * id on any server, without a lookup that two registrations could race on. */
export function hostIdOf(name: string): string {
  const digest = createHash("sha256").update(name).digest();
  let id = "h";
  for (let i = 0; i < 12; i++) id += base32[(digest[i] ?? 0) & 31];
  return id;
}

/** Registers the agent routes. */
export function agentRoutes(r: Router, ctx: ServerContext): void {
  const m = ctx.mirror;

  r.add("POST", "/v1/agent/register", "join", async ({ req, res, note }) => {
    const { inventory, hostToken: claimed, proposedToken } = registerOf(await readJsonObject(req, "{\"inventory\": HostInventory, \"hostToken\"?: string, \"proposedToken\"?: string}"));
    const id = hostIdOf(inventory.name);
    const now = ctx.clock.now();
    // A new name gets the token its agent proposed (kept on its disk first), so the agent's retry after
    // a lost answer is that host's (it proves itself with the same token) rather than a stranger (409).
    const freshToken = proposedToken ?? newToken();
    await casLoop(ctx, `register host ${inventory.name}`, () => {
      const existing = m.hosts.get(id)?.value;
      const stored = m.hostTokens.get(id);
      // The join token lets a machine in; it does not make it any host it names. A registered name
      // is that host's: its agent proves it with the token it was given (the write below compares
      // that token's key, so a removal in between makes the proof be checked again).
      if (stored !== undefined) proveIdentity(inventory.name, id, stored, claimed ?? (proposedToken !== null && sameSecret(proposedToken, stored) ? proposedToken : null));
      const host: Host = { ...inventory, id, domain: domainOf(inventory.labels), draining: existing?.draining ?? false, registeredAt: existing?.registeredAt ?? now, ...(existing?.drain ? { drain: existing.drain } : {}), ...(existing?.decommissionedAt !== undefined ? { decommissionedAt: existing.decommissionedAt } : {}), ...(existing?.unschedulable === true ? { unschedulable: true } : {}) };
      const success: Op[] = [];
      const compare: Compare[] = [{ key: hostTokenKey(id), target: "modRevision", op: "==", value: m.modRevision(hostTokenKey(id)) }];
      if (!existing || stableJson(existing) !== stableJson(host)) {
        compare.push({ key: hostKey(id), target: "modRevision", op: "==", value: m.modRevision(hostKey(id)) });
        success.push({ type: "put", key: hostKey(id), value: Kinds.host.encode(host) });
      }
      if (stored === undefined) success.push({ type: "put", key: hostTokenKey(id), value: Kinds.hostToken.encode(freshToken) });
      return success.length > 0 ? { compare, success } : null;
    });
    await ctx.liveness.ensureAlive(id);
    ctx.hub.resend(id);
    const hostToken = m.hostTokens.get(id);
    if (!hostToken) throw new TiffinError(ErrorCodes.Conflict, `host ${inventory.name} was removed while it registered`, { hint: "the agent registers again by itself" });
    ctx.log.info({ hostId: id, name: inventory.name, address: inventory.address }, "host registered");
    note?.(`host ${inventory.name} (${id}) at ${inventory.address}`);
    const t = ctx.liveness.timing();
    const body: RegisterResponse = { hostId: id, hostToken, heartbeatMs: t.heartbeatMs, downAfterMs: t.downMs, fenceMs: t.fenceMs };
    sendJson(res, 200, body);
  });

  r.add("POST", "/v1/agent/heartbeat", "host", async ({ req, res, hostId }) => {
    const hb = heartbeatOf(await readJsonObject(req, "{\"hostId\": string, \"upgradeMs\"?: number}"));
    requireSameHost(hostId, hb.hostId);
    ctx.metrics.heartbeats.inc();
    if (!m.hosts.has(hb.hostId)) {
      sendJson(res, 200, { ok: false, reregister: true } satisfies HeartbeatResponse);
      return;
    }
    await ctx.liveness.heartbeat(hb.hostId, hb.upgradeMs);
    if (hb.checks.length > 0 || hb.checksComplete) await recordChecks(ctx.store, hb.hostId, hb.checks, ctx.clock.now(), ctx.log, hb.checksComplete);
    if (hb.repairResult !== null) await recordRepairResult(ctx.store, hb.hostId, hb.repairResult, ctx.clock.now(), ctx.log);
    const repair = await pendingRepair(ctx.store, m, hb.hostId, ctx.log);
    // The wall clock, not ctx.clock: the agent's clock check compares its own wall clock with it.
    sendJson(res, 200, { ok: true, reregister: false, heartbeatMs: ctx.liveness.timing().heartbeatMs, serverTime: Date.now(), ...(repair !== null && repair.id !== hb.repairResult?.id ? { repair } : {}), ...(ctx.ca !== undefined ? { ca: ctx.ca.info() } : {}) } satisfies HeartbeatResponse);
  });

  r.add("POST", "/v1/agent/attempts", "host", async ({ req, res, hostId }) => {
    const report = reportOf(await readJsonObject(req, "{\"hostId\": string, \"updates\": AttemptUpdate[]}"));
    requireSameHost(hostId, report.hostId);
    await casLoop(ctx, "report attempts", () => {
      const compare: Compare[] = [];
      const success: Op[] = [];
      for (const u of report.updates) {
        const e = m.attempts.get(u.id);
        // Unknown (deleted, or never ours) and ended attempts are history: the report is stale.
        if (!e || e.value.hostId !== report.hostId || isTerminal(e.value.state)) continue;
        const merged: Attempt = { ...e.value, state: u.state, pid: u.pid, exitCode: u.exitCode, signal: u.signal, reason: u.reason, ...(u.incurable === true ? { incurable: true } : {}), ...(u.endCause ? { endCause: u.endCause } : {}), ports: { ...u.ports }, startedAt: u.startedAt, endedAt: u.endedAt, ...(u.usage ? { usage: u.usage } : {}) };
        const next = metricStopEnd(merged);
        if (u.usage) ctx.usage?.add(e.value.job, e.value.index, u.id, u.usage);
        if (stableJson(next) === stableJson(e.value)) continue;
        compare.push({ key: attemptKey(u.id), target: "modRevision", op: "==", value: e.modRevision });
        success.push({ type: "put", key: attemptKey(u.id), value: Kinds.attempt.encode(next) });
        // A report that ends serving (a failed health check, an exit) removes the attempt's endpoint in
        // the same revision, so no watcher or DNS answer sees it after the report, nor after the restart
        // that follows (the leader's EndpointController would remove it a moment later anyway).
        const ep = m.endpoints.get(next.job)?.get(next.index);
        if (ep && ep.value.attemptId === next.id && next.state !== "healthy" && next.state !== "running") {
          const key = endpointKey(next.job, next.index);
          compare.push({ key, target: "modRevision", op: "==", value: ep.modRevision });
          success.push({ type: "delete", key });
        }
      }
      return success.length > 0 ? { compare, success } : null;
    });
    sendJson(res, 200, { ok: true });
  });

  r.add("GET", "/v1/agent/assignments", "host", async ({ req, res, hostId }) => {
    if (!hostId) throw new Error("host route without host id");
    const sse = startSse(req, res);
    ctx.streams.add(sse);
    const unsubscribe = ctx.hub.subscribe(hostId, (list: Assignment[]) => sse.send("assignments", list));
    sse.onClose(() => {
      unsubscribe();
      ctx.streams.delete(sse);
    });
  });
}

/** Throws unless `claimed` is the host's token (compared in constant time). */
function proveIdentity(name: string, id: string, stored: string, claimed: string | null): void {
  const hint = `an agent keeps its host token in DIR/agent.json; if the machine was re-provisioned (a new data dir), remove the old record first: \`tiffin hosts remove ${name}\` (once the host is down)`;
  if (claimed === null) {
    throw new TiffinError(ErrorCodes.Conflict, `host ${name} (${id}) is already registered: registering under its name needs its host token`, { hint });
  }
  if (!sameSecret(claimed, stored)) throw new TiffinError(ErrorCodes.Unauthorized, `the host token sent to register ${name} (${id}) is not that host's`, { hint });
}

/** Refuses a request whose body names another host than its token. */
export function requireSameHost(tokenHost: string | null, bodyHost: string): void {
  if (tokenHost !== bodyHost) {
    // Known caller, acting for another host: forbidden (403), whether it came with a host token or a host certificate.
    throw new TiffinError(ErrorCodes.Forbidden, `the caller is host ${tokenHost ?? "none"} (its token or certificate), but the request names host ${bodyHost}`, {
      hint: "an agent acts only for its own host: use the hostToken that register returned for this host, or its own certificate",
    });
  }
}
