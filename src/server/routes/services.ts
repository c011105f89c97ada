// Service discovery's query API: `GET /v1/services` (every service and how many endpoints it has) and
// `GET /v1/services/:name/endpoints` (its serving endpoints now). Changes stream from
// `GET /v1/watch?kinds=endpoint&job=NAME`, resumable from a revision like every kind.
import { DefaultNamespace, ErrorCodes, idToRef, showId, splitJobId, TiffinError } from "../../model/index.ts";
import type { ServiceSummary } from "../../model/index.ts";
import { namespaceFilter } from "../http/namespaces.ts";
import type { ServerContext } from "../context.ts";
import { endpointsOf, listServices, servicePorts } from "../endpoints/query.ts";
import { sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";

/** Registers the service routes. */
export function serviceRoutes(r: Router, ctx: ServerContext): void {
  r.add("GET", "/v1/services", "admin", ({ res, principal, namespace }) => {
    const visible = namespaceFilter(principal, namespace);
    sendJson(res, 200, listServices(ctx.mirror).filter((s) => visible(s.name)).map(apiService));
    return Promise.resolve();
  });
  r.add("GET", "/v1/services/:name/endpoints", "admin", ({ res, params }) => {
    const name = params["name"] ?? "";
    if (servicePorts(ctx.mirror, name) === null) {
      throw new TiffinError(ErrorCodes.NotFound, `service "${showId(name)}" not found: no job of that name names ports`, { hint: "list services with `tiffin services`; a job offers a service by naming `ports`" });
    }
    sendJson(res, 200, endpointsOf(ctx.mirror, name));
    return Promise.resolve();
  });
}

/** A service as clients see it: its namespace apart (only outside "default", as job answers show it),
 * its job and uses as a job of that namespace writes them. */
function apiService(s: ServiceSummary): ServiceSummary {
  const t = splitJobId(s.name);
  const job = s.job ?? s.name;
  return {
    ...s,
    name: t.name,
    ...(t.namespace !== DefaultNamespace ? { namespace: t.namespace } : {}),
    ...(s.job !== undefined ? { job: splitJobId(s.job).name } : {}),
    ...(s.uses !== undefined ? { uses: s.uses.map((u) => idToRef(u, job)) } : {}),
  };
}
