// What the page's token may do, from `GET /v1/whoami`: action buttons show only for a token whose
// policy has the capability (the server checks again on every call; this spares a 403).

import { allows } from "../../src/api/index.ts";
import type { Whoami } from "../../src/api/index.ts";

/** The capability a dashboard action needs (as the server's route table says). */
export const ActionNeeds = {
  drain: { cap: "drain", on: "hosts" },
  // Jobs live in the namespace "default" until namespaces exist (docs/architecture.md, Security).
  restart: { cap: "write", on: "ns/default" },
  rollout: { cap: "write", on: "ns/default" },
  run: { cap: "write", on: "ns/default" },
} as const;

/** True when `who` may do `action`; false while whoami has not answered (or failed). */
export function canDo(who: Whoami | null, action: keyof typeof ActionNeeds): boolean {
  return who !== null && allows(who.policy, ActionNeeds[action]);
}
