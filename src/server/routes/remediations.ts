// Machine checks and remediation for users: `GET /v1/hosts/:idOrName/checks` (each check with its
// history) and `GET /v1/remediations` (the records, the budget alert and the budget). Read from the
// store (the mirror does not hold checks or records), so any server answers.
import type { HostChecksView, RemediationsView } from "../../api/types.ts";
import { ErrorCodes, TiffinError } from "../../model/index.ts";
import type { Remediation } from "../../model/index.ts";
import type { ServerContext } from "../context.ts";
import { sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { decodeAll, decodeOne, Kinds } from "../kinds.ts";
import type { RemediationConfig } from "../remediation/config.ts";
import { findHost } from "../views.ts";

/** Registers the routes. */
export function remediationRoutes(r: Router, ctx: ServerContext, config: RemediationConfig): void {
  r.add("GET", "/v1/hosts/:idOrName/checks", "admin", async ({ res, params }) => {
    const idOrName = params["idOrName"] ?? "";
    const found = findHost(ctx.mirror, idOrName);
    if (!found) throw new TiffinError(ErrorCodes.NotFound, `host "${idOrName}" not found`, { hint: "list hosts with `tiffin hosts`" });
    const hc = decodeOne(Kinds.hostChecks, await ctx.store.get(Kinds.hostChecks.key(found.id)), ctx.log);
    const checks = Object.values(hc?.checks ?? {}).sort((a, b) => a.name.localeCompare(b.name));
    sendJson(res, 200, { id: found.id, name: found.name, checks } satisfies HostChecksView);
  });

  r.add("GET", "/v1/remediations", "admin", async ({ res }) => {
    const [recs, alertKv] = await Promise.all([ctx.store.range(Kinds.remediation.prefix), ctx.store.get(Kinds.remediationAlert.key())]);
    const remediations: Remediation[] = decodeAll(Kinds.remediation, recs.kvs, ctx.log).reverse();
    const b = config.budget;
    sendJson(res, 200, {
      remediations,
      alert: decodeOne(Kinds.remediationAlert, alertKv, ctx.log),
      budget: { maxHosts: b.maxHosts, maxDomainPct: b.maxDomainPct, rateCount: b.rateCount, ratePerMs: b.ratePerMs },
      rules: config.rules.length,
    } satisfies RemediationsView);
  });
}
