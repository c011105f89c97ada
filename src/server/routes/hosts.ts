// Host endpoints for users: list, one host, drain (with a deadline and its action), undrain, and
// decommission (a drain for good: the host never takes tasks again; its record and history stay).

import { z } from "zod";
import { DrainThenActions, ErrorCodes, TiffinError } from "../../model/index.ts";
import type { Host, HostDrain } from "../../model/index.ts";
import { casLoop } from "../context.ts";
import type { ServerContext } from "../context.ts";
import { sendJson, readJson } from "../http/io.ts";
import { parseBody } from "../http/bodies.ts";
import type { Router } from "../http/router.ts";
import { failingChecksByHost, readAllChecks, withChecks } from "../remediation/checks-store.ts";
import type { ChecksCache } from "../remediation/checks-store.ts";
import { usageByHost } from "../reconcile/commit.ts";
import { hostKey, Kinds } from "../kinds.ts";
import { findHost, hostView, unhealthyByHost } from "../views.ts";

/** The longest drain deadline: a year. */
export const MaxDrainDeadlineMs = 365 * 24 * 3600 * 1000;

/** `POST /v1/hosts/:idOrName/drain {deadlineMs?, then?}`: the deadline counts from the request (null
 * or absent: none); `then` is what happens to tasks still there at the deadline (default "force" with
 * a deadline, else "wait"). Draining again changes the deadline and action, keeping the report. */
export const drainBody = z.object({
  deadlineMs: z.number().int().min(0).max(MaxDrainDeadlineMs).nullable().exactOptional(),
  then: z.enum(DrainThenActions).exactOptional(),
});

/** The drain a request asks for, over the one under way (if any). */
export function nextDrain(prev: HostDrain | undefined, body: z.infer<typeof drainBody>, now: number): HostDrain {
  const deadline = body.deadlineMs === undefined ? (prev?.deadline ?? null) : body.deadlineMs === null ? null : now + body.deadlineMs;
  const then = body.then ?? (body.deadlineMs === undefined && prev ? prev.then : deadline === null ? "wait" : "force");
  return { startedAt: prev?.startedAt ?? now, deadline, then, checkedAt: prev?.checkedAt ?? null, blocked: prev?.blocked ?? [], actedAt: null };
}

function mustFind(ctx: ServerContext, idOrName: string): Host {
  const found = findHost(ctx.mirror, idOrName);
  if (!found) throw new TiffinError(ErrorCodes.NotFound, `host "${idOrName}" not found`, { hint: "list hosts with `tiffin hosts`" });
  return found;
}

/** Registers the host routes; `checks` gives each host's failing machine checks (read from the store where none is given). */
export function hostRoutes(r: Router, ctx: ServerContext, checks?: ChecksCache): void {
  const m = ctx.mirror;
  r.add("GET", "/v1/hosts", "admin", async ({ res }) => {
    const usage = usageByHost(m);
    const failing = failingChecksByHost(checks ? await checks.all() : await readAllChecks(ctx.store, ctx.log));
    const unhealthy = unhealthyByHost(m);
    const hosts = [...m.hosts.values()].map((e) => withChecks(hostView(ctx.liveness, e.value, usage, unhealthy), failing.get(e.value.id))).sort((a, b) => a.name.localeCompare(b.name));
    sendJson(res, 200, hosts);
  });
  r.add("GET", "/v1/hosts/:idOrName", "admin", async ({ res, params }) => {
    const h = mustFind(ctx, params["idOrName"] ?? "");
    const failing = failingChecksByHost(checks ? await checks.all() : await readAllChecks(ctx.store, ctx.log));
    sendJson(res, 200, withChecks(hostView(ctx.liveness, h, usageByHost(m), unhealthyByHost(m)), failing.get(h.id)));
  });
  for (const action of ["drain", "undrain", "decommission"] as const) {
    r.add("POST", `/v1/hosts/:idOrName/${action}`, "admin", async ({ req, res, params }) => {
      const found = mustFind(ctx, params["idOrName"] ?? "");
      // A drain without a body (older clients) is a drain without a deadline; undrain takes none.
      const hasBody = action !== "undrain" && (Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined);
      const raw: unknown = hasBody ? ((await readJson(req)) ?? {}) : {};
      const body = action !== "undrain" ? parseBody(drainBody, raw, "a drain takes {deadlineMs?, then?}", "e.g. `tiffin drain HOST --deadline 10m --then force` (then: wait, force or stop)") : {};
      await casLoop(ctx, `${action} host ${found.name}`, () => {
        const h = m.hosts.get(found.id)?.value;
        if (!h) return null;
        let next: Host;
        if (action !== "undrain") {
          next = { ...h, draining: true, drain: nextDrain(h.draining ? h.drain : undefined, body, ctx.clock.now()) };
          if (action === "decommission") next.decommissionedAt = h.decommissionedAt ?? ctx.clock.now();
        } else {
          if (h.decommissionedAt !== undefined) {
            throw new TiffinError(ErrorCodes.Conflict, `host ${h.name} was decommissioned at ${new Date(h.decommissionedAt).toISOString()}: it takes no tasks again`, { hint: `a re-provisioned machine registers anew: stop its agent, \`tiffin hosts remove ${h.name}\` once it is down, then start the new agent` });
          }
          if (!h.draining && h.drain === undefined) return null;
          const { drain: _gone, ...rest } = h;
          next = { ...rest, draining: false };
        }
        return {
          compare: [{ key: hostKey(h.id), target: "modRevision", op: "==", value: m.modRevision(hostKey(h.id)) }],
          success: [{ type: "put", key: hostKey(h.id), value: Kinds.host.encode(next) }],
        };
      });
      ctx.log.info({ hostId: found.id, name: found.name }, { drain: "host draining", undrain: "host undrained", decommission: "host decommissioned" }[action]);
      const h = m.hosts.get(found.id)?.value ?? found;
      sendJson(res, 200, hostView(ctx.liveness, h, usageByHost(m), unhealthyByHost(m)));
    });
  }
}
