// The tracker endpoints' request bodies, checked field by field (agents of another version may send
// anything): a shape error is a 400 that names the expected shape.

import type { SwarmAnnounce, SwarmHolding, SwarmPlanRequest, SwarmReport } from "../../api/types.ts";
import { ErrorCodes, TiffinError } from "../../model/index.ts";
import { Sha256Pattern } from "../../pkg/index.ts";

/** Most pieces one request may list (a 4 TiB package at 4 MiB pieces). */
const MaxIndexes = 1 << 20;

function bad(what: string, shape: string): TiffinError {
  return new TiffinError(ErrorCodes.BadRequest, `swarm ${what}: body must be ${shape}`, { hint: "the agent and the server may be different versions" });
}

function isSha(v: unknown): v is string {
  return typeof v === "string" && Sha256Pattern.test(v);
}

function isIndex(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) < MaxIndexes;
}

function isIndexes(v: unknown): v is number[] {
  return Array.isArray(v) && v.length <= MaxIndexes && v.every(isIndex);
}

function isAddress(v: unknown): v is string {
  return typeof v === "string" && /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(v);
}

/** A SwarmAnnounce, or a 400. */
export function announceOf(v: unknown): SwarmAnnounce {
  const b = v as Partial<SwarmAnnounce> | null;
  const shape = "{address: host:port, full: boolean, packages: [{id, complete, pieces: number[]}]}";
  if (!b || typeof b !== "object" || !isAddress(b.address) || typeof b.full !== "boolean" || !Array.isArray(b.packages)) throw bad("announce", shape);
  const packages: SwarmHolding[] = [];
  for (const p of b.packages as unknown[]) {
    const h = p as Partial<SwarmHolding> | null;
    if (!h || typeof h !== "object" || !isSha(h.id) || typeof h.complete !== "boolean" || !isIndexes(h.pieces)) throw bad("announce", shape);
    packages.push({ id: h.id, complete: h.complete, pieces: h.pieces });
  }
  return { address: b.address, full: b.full, packages };
}

/** A SwarmPlanRequest, or a 400. */
export function planRequestOf(v: unknown): SwarmPlanRequest {
  const b = v as Partial<SwarmPlanRequest> | null;
  const optional = (x: unknown): boolean => x === undefined || isIndexes(x);
  if (!b || typeof b !== "object" || !isSha(b.packageId) || !isAddress(b.address) || !Number.isInteger(b.total) || (b.total ?? -1) < 0 || (b.total ?? 0) > MaxIndexes || !isIndexes(b.missing) || !isIndexes(b.inflight) || !optional(b.fallback) || !optional(b.stuck)) {
    throw bad("plan", "{packageId, address: host:port, total, missing: number[], inflight: number[], fallback?: number[], stuck?: number[]}");
  }
  return {
    packageId: b.packageId,
    address: b.address,
    total: b.total as number,
    missing: b.missing,
    inflight: b.inflight,
    ...(b.fallback ? { fallback: b.fallback } : {}),
    ...(b.stuck ? { stuck: b.stuck } : {}),
  };
}

/** A SwarmReport, or a 400. */
export function reportOf(v: unknown): SwarmReport {
  const b = v as Partial<SwarmReport> | null;
  const kindOk = b?.kind === undefined || b.kind === "bad-piece" || (b.kind === "missing" && isIndex(b.index));
  if (!b || typeof b !== "object" || !isSha(b.packageId) || typeof b.peer !== "string" || !isSha(b.piece) || typeof b.reason !== "string" || !kindOk || (b.index !== undefined && !isIndex(b.index))) {
    throw bad("report", `{packageId, peer, piece, reason, kind?: "bad-piece" | "missing", index?: number (required with "missing")}`);
  }
  return { packageId: b.packageId, peer: b.peer, piece: b.piece, reason: b.reason.slice(0, 200), ...(b.kind ? { kind: b.kind } : {}), ...(b.index !== undefined ? { index: b.index } : {}) };
}
