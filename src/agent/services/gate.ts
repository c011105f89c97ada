// Whether a task of a job with `uses` may start: each service it uses has at least its `min`
// endpoints serving in the agent's view of the registry (directory.ts). Pure, tested by the table in
// gate.test.ts. Only starts are held: a running task is never stopped or restarted because a
// service it uses lost endpoints (Compose's depends_on, not a liveness coupling).
import type { ServiceUse } from "../../model/index.ts";

/** Why a start waits, or null when it may go. `serving(service)`: the service's endpoints now, or
 * null while the agent has not listed them yet. */
export function startHold(uses: readonly ServiceUse[], serving: (service: string) => number | null): string | null {
  const waits: string[] = [];
  for (const u of uses) {
    if (u.min <= 0) continue;
    const n = serving(u.service);
    if (n === null) waits.push(`${u.service} (endpoints not known yet)`);
    else if (n < u.min) waits.push(`${u.service} (${n} of ${u.min} endpoint${u.min === 1 ? "" : "s"} serving)`);
  }
  return waits.length === 0 ? null : `waiting for service${waits.length === 1 ? "" : "s"} ${waits.join(", ")}`;
}

/** `TIFFIN_SERVICE_<NAME>`: the service name upper-cased, `-` (and anything else) as `_`. */
export function serviceVar(service: string): string {
  return `TIFFIN_SERVICE_${service.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}`;
}

/** The file in a task's work directory listing its services' endpoints (`TIFFIN_SERVICES_FILE`). */
export const ServicesFileName = ".tiffin-services.json";
