// The audit entry of a call (routes whose rule says "call", or an "own" route refused before it ran):
// who, what, when, from where, and the outcome, written once the answer went out. Only callers whose
// token was identified are recorded: an unauthenticated stranger must not be able to fill the store
// (their 401s are logged instead). Never the body, the query or a token: ids and names only.

import { randomBytes } from "node:crypto";
import type { CallAuditEntry } from "../../model/index.ts";
import type { ServerContext } from "../context.ts";
import { auditKey, Kinds } from "../kinds.ts";

/** Writes one call's entry; never rejects (a failed write is logged: the call already happened). */
export function writeCallAudit(ctx: ServerContext, entry: Omit<CallAuditEntry, "id" | "action" | "endedAt">): void {
  const full: CallAuditEntry = { id: randomBytes(6).toString("hex"), action: "call", ...entry, endedAt: ctx.clock.now() };
  ctx.log.info({ audit: full }, "audited call");
  ctx.store.put(auditKey(full.at, full.id), Kinds.audit.encode(full)).catch((err: unknown) => ctx.log.error({ err, audit: full }, "cannot write an audit entry"));
}
