// DELETE /v1/hosts/:idOrName (`tiffin hosts remove`): forgets a host record and its token, so a
// re-provisioned machine (a new data dir, hence no token) can register under the name again. Only a
// host that is down and has nothing left that may still run there: removing the record of a live host,
// or of one whose "at most one live copy" tasks wait out their fence, would let the reconciler declare
// them lost at once and start second copies.

import type { HostRemoval } from "../../api/types.ts";
import { ErrorCodes, isTerminal, taskId, TiffinError } from "../../model/index.ts";
import type { HostStatus } from "../../model/index.ts";
import { casLoop } from "../context.ts";
import type { ServerContext } from "../context.ts";
import { sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { aliveKey, allocKey, hostKey, hostTokenKey } from "../keys.ts";
import { Kinds } from "../kinds.ts";
import type { Mirror } from "../mirror.ts";
import { findHost } from "../views.ts";

/** What stands in the way of removing a host, as `removalBlocker` sees it. */
export interface RemovalFacts {
  name: string;
  status: HostStatus;
  /** `job/index (state)` of attempts there that have not ended. */
  liveAttempts: string[];
  /** `job/index` of tasks still placed there. */
  placedTasks: string[];
}

/** Why the host cannot be removed now (message and hint), or null when it can. Pure. */
export function removalBlocker(f: RemovalFacts): { message: string; hint: string } | null {
  if (f.status !== "down") {
    return {
      message: `host ${f.name} is ${f.status}: its agent still heartbeats (or announced an upgrade)`,
      hint: `drain it (\`tiffin drain ${f.name}\`) so its tasks move first, stop its agent, and remove it once \`tiffin hosts\` shows it down`,
    };
  }
  const left = [...new Set([...f.liveAttempts, ...f.placedTasks.filter((t) => !f.liveAttempts.some((a) => a.startsWith(`${t} `)))])];
  if (left.length === 0) return null;
  const shown = left.slice(0, 10).join(", ") + (left.length > 10 ? `, and ${left.length - 10} more` : "");
  return {
    message: `host ${f.name} is down but ${left.length} task(s) may still run there or are still placed there: ${shown}`,
    hint: "they move elsewhere once nothing of them can still run there (after the fence, or a job's disconnect.stopAfter, and its stop grace); remove the host then",
  };
}

/** The facts about host `id` in the mirror. */
function factsOf(m: Mirror, id: string, name: string, status: HostStatus): RemovalFacts {
  const liveAttempts: string[] = [];
  for (const aid of m.attemptsByHost.get(id) ?? []) {
    const a = m.attempts.get(aid)?.value;
    if (a && !isTerminal(a.state)) liveAttempts.push(`${taskId(a.job, a.index)} (${a.state})`);
  }
  const placedTasks: string[] = [];
  for (const byIndex of m.tasks.values()) for (const { value: t } of byIndex.values()) if (t.hostId === id) placedTasks.push(taskId(t.job, t.index));
  return { name, status, liveAttempts: liveAttempts.sort(), placedTasks: placedTasks.sort() };
}

/** Registers the host removal route. */
export function hostRemoveRoute(r: Router, ctx: ServerContext): void {
  const m = ctx.mirror;
  r.add("DELETE", "/v1/hosts/:idOrName", "admin", async ({ res, params }) => {
    const idOrName = params["idOrName"] ?? "";
    const found = findHost(m, idOrName);
    if (!found) throw new TiffinError(ErrorCodes.NotFound, `host "${idOrName}" not found`, { hint: "list hosts with `tiffin hosts`" });
    const { id, name } = found;
    await casLoop(ctx, `remove host ${name}`, () => {
      if (!m.hosts.has(id)) return null;
      const blocker = removalBlocker(factsOf(m, id, name, ctx.liveness.status(id)));
      if (blocker) throw new TiffinError(ErrorCodes.Conflict, blocker.message, { hint: blocker.hint });
      const alloc = m.alloc.has(id);
      return {
        // The host still down (no /alive), and nothing booked on it or re-registered in between.
        compare: [
          { key: aliveKey(id), target: "version", op: "==", value: 0 },
          { key: hostKey(id), target: "modRevision", op: "==", value: m.modRevision(hostKey(id)) },
          { key: hostTokenKey(id), target: "modRevision", op: "==", value: m.modRevision(hostTokenKey(id)) },
          { key: allocKey(id), target: "modRevision", op: "==", value: m.modRevision(allocKey(id)) },
        ],
        success: [
          { type: "delete", key: hostKey(id) },
          { type: "delete", key: hostTokenKey(id) },
          ...(alloc ? [{ type: "delete" as const, key: allocKey(id) }] : []),
          // Its machine checks and a pending repair: a new machine under the name starts clean.
          { type: "delete" as const, key: Kinds.hostChecks.key(id) },
          { type: "delete" as const, key: Kinds.repair.key(id) },
        ],
      };
    });
    ctx.log.warn({ hostId: id, name }, "host record removed by an admin: the name may register again without the old host token");
    sendJson(res, 200, { id, name, removed: true } satisfies HostRemoval);
  });
}
