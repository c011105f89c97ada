// Maintenance windows (`/maintenance/<id>`, model/maintenance.ts): plan, list, cancel. What a window
// does to tasks is the reconciler's (reconcile/maintenance.ts); these routes only store windows.

import { z } from "zod";
import { ErrorCodes, MaintenanceScopes, TiffinError, windowCovers, windowEnd } from "../../model/index.ts";
import type { MaintenanceWindow } from "../../model/index.ts";
import { casLoop } from "../context.ts";
import type { ServerContext } from "../context.ts";
import { parseBody } from "../http/bodies.ts";
import { readJson, sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { Kinds, maintenanceKey } from "../kinds.ts";
import { attemptId } from "../reconcile/inputs.ts";

/** The longest window: 30 days. */
export const MaxWindowMs = 30 * 24 * 3600 * 1000;

/** `POST /v1/maintenance`: what a window covers, when, for how long, why; optional lead and close times (ms). */
export const maintenanceBody = z.object({
  scope: z.enum(MaintenanceScopes),
  target: z.string().min(1).max(253),
  start: z.number().int().min(0),
  durationMs: z.number().int().min(1).max(MaxWindowMs),
  reason: z.string().min(1).max(1000),
  leadMs: z.number().int().min(0).max(MaxWindowMs).nullable().exactOptional(),
  closeMs: z.number().int().min(0).max(MaxWindowMs).nullable().exactOptional(),
});

/** Registers the maintenance routes. */
export function maintenanceRoutes(r: Router, ctx: ServerContext): void {
  const m = ctx.mirror;
  r.add("GET", "/v1/maintenance", "admin", async ({ res }) => {
    sendJson(res, 200, [...m.maintenance.values()].map((e) => e.value).sort((a, b) => a.start - b.start || a.id.localeCompare(b.id)));
  });
  r.add("POST", "/v1/maintenance", "admin", async ({ req, res }) => {
    const body = parseBody(maintenanceBody, await readJson(req), "a maintenance window takes {scope, target, start, durationMs, reason, leadMs?, closeMs?}", "e.g. `tiffin maintenance add --rack r12 --start 2026-12-07T02:00Z --duration 2h --reason \"PDU swap\"`");
    const now = ctx.clock.now();
    if (body.start + body.durationMs <= now) {
      throw new TiffinError(ErrorCodes.BadRequest, `the window would end at ${new Date(body.start + body.durationMs).toISOString()}, in the past`, { hint: "give a --start in the future (or now) and a --duration" });
    }
    const hosts = [...m.hosts.values()].filter((e) => windowCovers(body, e.value));
    if (hosts.length === 0) {
      throw new TiffinError(ErrorCodes.BadRequest, `no registered host is in ${body.scope} "${body.target}"`, { hint: "see hosts and their racks with `tiffin hosts`; a rack, cluster or datacenter is the agent's --label of that name" });
    }
    const w: MaintenanceWindow = { id: attemptId(now), scope: body.scope, target: body.target, start: body.start, durationMs: body.durationMs, reason: body.reason, leadMs: body.leadMs ?? null, closeMs: body.closeMs ?? null, createdAt: now, cancelledAt: null };
    await casLoop(ctx, `add maintenance of ${body.scope} ${body.target}`, () => ({
      compare: [{ key: maintenanceKey(w.id), target: "createRevision", op: "==", value: 0 }],
      success: [{ type: "put", key: maintenanceKey(w.id), value: Kinds.maintenance.encode(w) }],
    }));
    ctx.log.info({ id: w.id, scope: w.scope, target: w.target, start: w.start, end: windowEnd(w), hosts: hosts.length }, "maintenance window added");
    sendJson(res, 200, w);
  });
  r.add("POST", "/v1/maintenance/:id/cancel", "admin", async ({ res, params }) => {
    const id = params["id"] ?? "";
    if (!m.maintenance.has(id)) throw new TiffinError(ErrorCodes.NotFound, `maintenance window "${id}" not found`, { hint: "list windows with `tiffin maintenance list`" });
    await casLoop(ctx, `cancel maintenance ${id}`, () => {
      const w = m.maintenance.get(id)?.value;
      if (!w || w.cancelledAt !== null) return null;
      return {
        compare: [{ key: maintenanceKey(id), target: "modRevision", op: "==", value: m.modRevision(maintenanceKey(id)) }],
        success: [{ type: "put", key: maintenanceKey(id), value: Kinds.maintenance.encode({ ...w, cancelledAt: ctx.clock.now() }) }],
      };
    });
    ctx.log.info({ id }, "maintenance window cancelled");
    sendJson(res, 200, m.maintenance.get(id)?.value);
  });
}
