// What the page's token may do, from `GET /v1/whoami`: action buttons show only for a token whose
// policy has the capability (the server checks again on every call; this spares a 403).

import { allows } from "../../src/api/index.ts";
import type { Whoami } from "../../src/api/index.ts";

/** The capability a dashboard action needs (as the server's route table says). */
export const ActionNeeds = {
  drain: { cap: "drain", on: "hosts" },
  // A job's actions need write on its namespace (`ns/default` is replaced by the job's: canDo).
  restart: { cap: "write", on: "ns/default" },
  rollout: { cap: "write", on: "ns/default" },
  run: { cap: "write", on: "ns/default" },
} as const;

/** True when `who` may do `action` (a job's, on the job of namespace `ns`); false while whoami has
 * not answered (or failed). */
export function canDo(who: Whoami | null, action: keyof typeof ActionNeeds, ns = "default"): boolean {
  const need = ActionNeeds[action];
  return who !== null && allows(who.policy, need.on === "ns/default" ? { cap: need.cap, on: `ns/${ns}` } : need);
}
