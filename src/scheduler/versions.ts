// Dotted versions compared numerically ("5.10" > "5.9"), and ranges such as ">=6.1" or ">=5.10 <7".
// Kernel strings carry suffixes ("6.1.0-18-amd64"): only the leading dotted numbers count.

/** A parsed version: its numeric components. Missing trailing components compare as 0. */
export type Version = readonly number[];

/** One comparison of a range. */
export interface VersionClause {
  op: ">=" | ">" | "<=" | "<" | "=";
  version: Version;
}

/** A range: every clause must hold. */
export interface VersionRange {
  clauses: VersionClause[];
}

/** Parses the leading dotted numbers of `s` ("6.1.0-18-amd64" -> [6, 1, 0]); null when there are none. */
export function parseVersion(s: string): Version | null {
  const m = /^\s*v?(\d+(?:\.\d+)*)/.exec(s);
  if (!m?.[1]) return null;
  return m[1].split(".").map(Number);
}

/** Negative, zero or positive as `a` is below, equal to or above `b`, component by component. */
export function compareVersions(a: Version, b: Version): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Parses a range: clauses separated by spaces or commas, each an operator (>=, >, <=, <, =, ==;
 * none means =) and a version. Returns the problem as a value so spec validation can show it.
 */
export function parseVersionRange(s: string): VersionRange | { error: string } {
  const parts = s.split(/[\s,]+/).filter((p) => p !== "");
  if (parts.length === 0) return { error: "empty version range" };
  const clauses: VersionClause[] = [];
  for (const part of parts) {
    const m = /^(>=|<=|==|=|>|<)?(\d+(?:\.\d+)*)$/.exec(part);
    if (!m?.[2]) return { error: `"${part}" is not a comparison such as ">=6.1" or "<7"` };
    const op = m[1] === undefined || m[1] === "==" ? "=" : (m[1] as VersionClause["op"]);
    clauses.push({ op, version: m[2].split(".").map(Number) });
  }
  return { clauses };
}

/** True when `v` satisfies every clause of `r`. */
export function satisfies(v: Version, r: VersionRange): boolean {
  for (const c of r.clauses) {
    const d = compareVersions(v, c.version);
    const ok = c.op === ">=" ? d >= 0 : c.op === ">" ? d > 0 : c.op === "<=" ? d <= 0 : c.op === "<" ? d < 0 : d === 0;
    if (!ok) return false;
  }
  return true;
}
