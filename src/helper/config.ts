// Reading attempt.json. The agent wrote it, but a helper that trusts a malformed file would fail in
// stranger ways later, so the shape is checked up front and every problem named.
import type { HelperConfig } from "./protocol.ts";

/** The config, or the list of problems that make it unusable. */
export type ConfigResult = { ok: true; config: HelperConfig } | { ok: false; problems: string[] };

/** Checks that `v` (parsed attempt.json) is a HelperConfig. */
export function parseHelperConfig(v: unknown): ConfigResult {
  const problems: string[] = [];
  if (typeof v !== "object" || v === null) return { ok: false, problems: ["attempt.json: expected an object"] };
  const c = v as Record<string, unknown>;
  const need = (ok: boolean, field: string, what: string): void => {
    if (!ok) problems.push(`attempt.json: ${field}: expected ${what}, got ${JSON.stringify(c[field]) ?? "nothing"}`);
  };
  const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
  const posInt = (x: unknown): boolean => typeof x === "number" && Number.isInteger(x) && x > 0;
  need(typeof c.attemptId === "string" && c.attemptId !== "", "attemptId", "a non-empty string");
  need(typeof c.job === "string", "job", "a string");
  need(typeof c.index === "number", "index", "a number");
  need(Array.isArray(c.command) && c.command.length > 0 && c.command.every((a) => typeof a === "string"), "command", "a non-empty array of strings");
  need(isRecord(c.env) && Object.values(c.env).every((x) => typeof x === "string"), "env", "an object of strings");
  need(
    isRecord(c.files) && Object.values(c.files).every((f) => isRecord(f) && typeof f.content === "string" && typeof f.mode === "number"),
    "files",
    "an object of { content, mode }",
  );
  need(isRecord(c.ports) && Object.values(c.ports).every((x) => typeof x === "number"), "ports", "an object of port numbers");
  need(c.health === null || (isRecord(c.health) && ["http", "tcp", "command"].includes(c.health.kind as string)), "health", "null or a health check");
  need(isRecord(c.stop) && typeof c.stop.signal === "string" && typeof c.stop.graceMs === "number", "stop", "{ signal, graceMs }");
  need(posInt(c.fenceMs), "fenceMs", "a positive integer");
  need(posInt(c.logSegmentBytes), "logSegmentBytes", "a positive integer");
  need(posInt(c.logSegmentsKept), "logSegmentsKept", "a positive integer");
  need(c.sandbox === undefined || c.sandbox === null || sandboxOk(c.sandbox), "sandbox", "null or { runtime, network, readOnlyPaths, mounts, limits, cgroupParent }");
  need(c.diskLimitMiB === undefined || posInt(c.diskLimitMiB), "diskLimitMiB", "a positive integer");
  need(c.diskCheckMs === undefined || (posInt(c.diskCheckMs) && (c.diskCheckMs as number) >= 100), "diskCheckMs", "a whole number of ms >= 100");
  need(c.notice === undefined || typeof c.notice === "string", "notice", "a string");
  need(c.usageSampleMs === undefined || (posInt(c.usageSampleMs) && (c.usageSampleMs as number) >= 100), "usageSampleMs", "a whole number of ms >= 100");
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config: v as HelperConfig };
}

function sandboxOk(v: unknown): boolean {
  const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
  if (!isRecord(v)) return false;
  const r = v.runtime;
  const l = v.limits;
  const strings = (x: unknown): boolean => Array.isArray(x) && x.every((p) => typeof p === "string" && p.startsWith("/"));
  return (
    isRecord(r) && (r.name === "crun" || r.name === "runc") && typeof r.path === "string" && typeof r.rootless === "boolean" &&
    (r.stateDir === null || typeof r.stateDir === "string") &&
    (v.network === "host" || v.network === "private") &&
    strings(v.readOnlyPaths) &&
    Array.isArray(v.mounts) && v.mounts.every((m) => isRecord(m) && typeof m.host === "string" && typeof m.task === "string" && typeof m.writable === "boolean") &&
    isRecord(l) && typeof l.cpu === "number" && l.cpu > 0 && Number.isInteger(l.memoryMiB) && Number.isInteger(l.pids) &&
    typeof v.cgroupParent === "string" && v.cgroupParent.startsWith("/")
  );
}
