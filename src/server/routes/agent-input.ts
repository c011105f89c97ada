// Shape checks of what agents send (register inventory, attempt updates). Agents are our own code, but
// the server never trusts a request: every problem is listed, nothing is written.

import type { AttemptUpdate } from "../../api/types.ts";
import { AttemptEndCauses, AttemptStates, ErrorCodes, TiffinError } from "../../model/index.ts";
import type { HostInventory, Problem } from "../../model/index.ts";

type Check = (v: unknown) => boolean;
const str: Check = (v) => typeof v === "string";
const nonEmpty: Check = (v) => typeof v === "string" && v.length > 0 && v.length <= 253;
const num: Check = (v) => typeof v === "number" && Number.isFinite(v) && v >= 0;
const numOrNull: Check = (v) => v === null || num(v);
const strOrNull: Check = (v) => v === null || str(v);
const record = (of: Check): Check => (v) => typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every(of);
const upTo = (max: number): Check => (v) => num(v) && (v as number) <= max;
const shortStr = (max: number): Check => (v) => typeof v === "string" && v.length <= max;
// host:port, the host a name or an IPv4 address, or an IPv6 address in brackets: the server builds
// http://ADDRESS/... from it to reach the agent, so nothing that could add a path or a query.
const hostPort: Check = (v) => typeof v === "string" && v.length <= 300 && /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/.test(v);
const labelMap: Check = (v) =>
  record(shortStr(MaxLabelChars))(v) && Object.keys(v as object).length <= MaxLabels && Object.keys(v as object).every((k) => k.length > 0 && k.length <= MaxLabelChars);

/** Bounds of what an inventory may claim: the scheduler adds and compares these figures, and a host
 * claiming 1e308 MiB would take every task. Far above any real machine. */
export const InventoryLimits = {
  cores: 16_384,
  /** 1 PiB */
  memoryMiB: 2 ** 30,
  /** 1 EiB */
  diskMiB: 2 ** 40,
} as const;
const MaxLabels = 64;
const MaxLabelChars = 253;
const MaxInfoChars = 256;

function check(obj: Record<string, unknown>, base: string, fields: Record<string, [Check, string]>, out: Problem[]): void {
  for (const [k, [ok, expected]] of Object.entries(fields)) {
    const v = obj[k];
    if (!ok(v)) out.push({ file: null, path: base ? `${base}.${k}` : k, message: `expected ${expected}`, value: v === undefined ? null : JSON.stringify(v) });
  }
}

function asObject(v: unknown, path: string, out: Problem[]): Record<string, unknown> | null {
  if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  out.push({ file: null, path, message: "expected an object", value: v === undefined ? null : JSON.stringify(v) });
  return null;
}

function fail(what: string, problems: Problem[]): TiffinError {
  return new TiffinError(ErrorCodes.BadRequest, `${what}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`, { hint: "the agent and the server may be different versions", problems });
}

/** The inventory and the host token (null when none is sent) of a register body, or a BAD_REQUEST
 * listing every problem. */
export function registerOf(body: unknown): { inventory: HostInventory; hostToken: string | null } {
  const problems: Problem[] = [];
  const b = asObject(body, "", problems);
  const inv = b ? asObject(b["inventory"], "inventory", problems) : null;
  if (b) check(b, "", { hostToken: [(v) => v === undefined || v === null || (typeof v === "string" && v.length > 0 && v.length <= 512), "the host token of an earlier registration, or nothing"] }, problems);
  if (inv) {
    check(inv, "inventory", {
      name: [nonEmpty, "a host name (1 to 253 characters)"],
      address: [hostPort, "host:port where the agent serves logs"],
      cores: [(v) => upTo(InventoryLimits.cores)(v) && (v as number) > 0, `a positive number, at most ${InventoryLimits.cores}`],
      memoryMiB: [upTo(InventoryLimits.memoryMiB), `MiB as a number, at most ${InventoryLimits.memoryMiB} (1 PiB)`],
      diskMiB: [upTo(InventoryLimits.diskMiB), `MiB as a number, at most ${InventoryLimits.diskMiB} (1 EiB)`],
      kernel: [shortStr(MaxInfoChars), `a string of at most ${MaxInfoChars} characters`],
      labels: [labelMap, `an object of at most ${MaxLabels} strings (keys and values 1 to ${MaxLabelChars} characters)`],
      runtime: [shortStr(MaxInfoChars), `a string of at most ${MaxInfoChars} characters`],
    }, problems);
    const os = asObject(inv["os"], "inventory.os", problems);
    if (os) check(os, "inventory.os", { id: [shortStr(MaxInfoChars), "a string"], version: [shortStr(MaxInfoChars), "a string"] }, problems);
    const caps = inv["capabilities"];
    if (caps !== undefined && !(Array.isArray(caps) && caps.length <= 64 && caps.every(shortStr(64)))) {
      problems.push({ file: null, path: "inventory.capabilities", message: "expected an array of capability names", value: JSON.stringify(caps) });
    }
  }
  if (problems.length > 0 || !inv || !b) throw fail("invalid register request", problems);
  const hostToken = typeof b["hostToken"] === "string" ? b["hostToken"] : null;
  return { inventory: inventoryFrom(inv), hostToken };
}

function inventoryFrom(inv: Record<string, unknown>): HostInventory {
  const os = inv["os"] as { id: string; version: string };
  return {
    name: inv["name"] as string,
    address: inv["address"] as string,
    cores: inv["cores"] as number,
    memoryMiB: inv["memoryMiB"] as number,
    diskMiB: inv["diskMiB"] as number,
    os: { id: os.id, version: os.version },
    kernel: inv["kernel"] as string,
    labels: { ...(inv["labels"] as Record<string, string>) },
    runtime: inv["runtime"] as string,
    ...(Array.isArray(inv["capabilities"]) && inv["capabilities"].length > 0 ? { capabilities: [...(inv["capabilities"] as string[])] } : {}),
  };
}

/** `hostId` and `upgradeMs` of a heartbeat body. */
export function heartbeatOf(body: unknown): { hostId: string; upgradeMs: number | undefined } {
  const problems: Problem[] = [];
  const b = asObject(body, "", problems);
  if (b) check(b, "", { hostId: [nonEmpty, "the host id register returned"], upgradeMs: [(v) => v === undefined || (num(v) && (v as number) <= 86_400_000), "milliseconds, at most a day"] }, problems);
  if (problems.length > 0 || !b) throw fail("invalid heartbeat", problems);
  return { hostId: b["hostId"] as string, upgradeMs: b["upgradeMs"] as number | undefined };
}

/** The updates of an attempts report. */
export function reportOf(body: unknown): { hostId: string; updates: AttemptUpdate[] } {
  const problems: Problem[] = [];
  const b = asObject(body, "", problems);
  const updates: AttemptUpdate[] = [];
  if (b) {
    check(b, "", { hostId: [nonEmpty, "the host id register returned"], updates: [Array.isArray, "an array of attempt updates"] }, problems);
    const list = Array.isArray(b["updates"]) ? (b["updates"] as unknown[]) : [];
    list.forEach((u, i) => {
      const o = asObject(u, `updates[${i}]`, problems);
      if (!o) return;
      check(o, `updates[${i}]`, {
        id: [nonEmpty, "an attempt id"],
        state: [(v) => (AttemptStates as readonly unknown[]).includes(v), `one of ${AttemptStates.join(", ")}`],
        pid: [numOrNull, "a pid or null"],
        exitCode: [(v) => v === null || typeof v === "number", "a number or null"],
        signal: [strOrNull, "a signal name or null"],
        reason: [strOrNull, "a string or null"],
        ports: [record(num), "an object of port numbers"],
        startedAt: [numOrNull, "epoch ms or null"],
        endedAt: [numOrNull, "epoch ms or null"],
      }, problems);
      // Optional: agents from before incurable start failures do not send it.
      if (o["incurable"] !== undefined && typeof o["incurable"] !== "boolean") {
        problems.push({ file: null, path: `updates[${i}].incurable`, message: "expected true, false or nothing", value: JSON.stringify(o["incurable"]) ?? null });
      }
      // Optional: agents from before typed end causes do not send it.
      if (o["endCause"] !== undefined && !(AttemptEndCauses as readonly unknown[]).includes(o["endCause"])) {
        problems.push({ file: null, path: `updates[${i}].endCause`, message: `expected one of ${AttemptEndCauses.join(", ")} or nothing`, value: JSON.stringify(o["endCause"]) ?? null });
      }
      // Optional: agents from before usage sampling do not send it.
      if (o["usage"] !== undefined && o["usage"] !== null) {
        const u = asObject(o["usage"], `updates[${i}].usage`, problems);
        if (u) {
          check(u, `updates[${i}].usage`, {
            at: [num, "epoch ms"],
            cpuSeconds: [num, "seconds"],
            cpuCores: [numOrNull, "cores or null"],
            memoryBytes: [num, "bytes"],
            memoryPeakBytes: [numOrNull, "bytes or null"],
            pids: [numOrNull, "a count or null"],
          }, problems);
        }
      }
      updates.push(o as unknown as AttemptUpdate);
    });
  }
  if (problems.length > 0 || !b) throw fail("invalid attempts report", problems);
  return { hostId: b["hostId"] as string, updates };
}
