// Host endpoints for users: list, drain, undrain.

import { ErrorCodes, TiffinError } from "../../model/index.ts";
import { casLoop } from "../context.ts";
import type { ServerContext } from "../context.ts";
import { sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { hostFlagsWrite } from "../host-flags.ts";
import { failingChecksByHost, readAllChecks, withChecks } from "../remediation/checks-store.ts";
import type { ChecksCache } from "../remediation/checks-store.ts";
import { usageByHost } from "../reconcile/commit.ts";
import { findHost, hostView, unhealthyByHost } from "../views.ts";

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
  for (const [action, draining] of [
    ["drain", true],
    ["undrain", false],
  ] as const) {
    r.add("POST", `/v1/hosts/:idOrName/${action}`, "admin", async ({ res, params }) => {
      const idOrName = params["idOrName"] ?? "";
      const found = findHost(m, idOrName);
      if (!found) throw new TiffinError(ErrorCodes.NotFound, `host "${idOrName}" not found`, { hint: "list hosts with `tiffin hosts`" });
      await casLoop(ctx, `${action} host ${found.name}`, () => hostFlagsWrite(m, found.id, { draining }));
      ctx.log.info({ hostId: found.id, name: found.name }, draining ? "host draining" : "host undrained");
      const h = m.hosts.get(found.id)?.value ?? found;
      sendJson(res, 200, hostView(ctx.liveness, h, usageByHost(m), unhealthyByHost(m)));
    });
  }
}
