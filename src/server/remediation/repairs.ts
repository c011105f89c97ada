// Repairs through the agent: the controller puts `/repairs/<hostId>` when a rule's `repair` step
// opens; every heartbeat answer of that host carries it (a heartbeat costs no store read unless the
// mirror knows the key exists) until the agent reports how it ended in a heartbeat; the result goes into the
// remediation record (exit code and first line) and the request is deleted, in one transaction.
// A failed repair escalates at once (decide.ts); one that never reports escalates after the rule's
// escalateAfterMs.
import type { Logger } from "pino";
import type { RepairRequest, RepairResult } from "../../model/index.ts";
import type { Compare, Op, Store } from "../../state/store.ts";
import { decodeOne, Kinds } from "../kinds.ts";
import type { Mirror } from "../mirror.ts";

/** The repair waiting for host `hostId`'s agent, or null (no store read when there is none). */
export async function pendingRepair(store: Store, m: Mirror, hostId: string, log: Logger): Promise<RepairRequest | null> {
  const key = Kinds.repair.key(hostId);
  if (m.modRevision(key) === 0) return null;
  return decodeOne(Kinds.repair, await store.get(key), log);
}

/** The outcome line of a repair's end (pure). */
export function repairOutcome(r: RepairResult): string {
  const how = r.exitCode === null ? "did not finish (killed at its timeout, or could not start)" : `exited ${r.exitCode}`;
  return `repair ${how}${r.output ? `: ${r.output}` : ""}`;
}

/** Records how a repair ended in its remediation record and removes the request. A result of no
 * active repair record of this host (stale, repeated) is dropped. */
export async function recordRepairResult(store: Store, hostId: string, result: RepairResult, now: number, log: Logger): Promise<void> {
  const recKey = Kinds.remediation.key(result.id);
  const reqKey = Kinds.repair.key(hostId);
  for (let i = 0; i < 5; i++) {
    const [recKv, reqKv] = await Promise.all([store.get(recKey), store.get(reqKey)]);
    const rec = decodeOne(Kinds.remediation, recKv, log);
    const req = decodeOne(Kinds.repair, reqKv, log);
    const compare: Compare[] = [];
    const success: Op[] = [];
    if (rec !== null && recKv !== null && rec.hostId === hostId && rec.action === "repair" && rec.state === "active" && rec.exitCode === undefined) {
      compare.push({ key: recKey, target: "modRevision", op: "==", value: recKv.modRevision });
      success.push({ type: "put", key: recKey, value: Kinds.remediation.encode({ ...rec, exitCode: result.exitCode, outcome: repairOutcome(result), updatedAt: now }) });
    }
    if (req !== null && reqKv !== null && req.id === result.id) {
      compare.push({ key: reqKey, target: "modRevision", op: "==", value: reqKv.modRevision });
      success.push({ type: "delete", key: reqKey });
    }
    if (success.length === 0) return;
    if ((await store.txn({ compare, success })).succeeded) return;
  }
  log.warn({ hostId, id: result.id }, "repair result not recorded: the records kept changing");
}
