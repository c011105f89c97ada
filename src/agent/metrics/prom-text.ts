// The agent's parser of scraped expositions (Prometheus text 0.0.4 and OpenMetrics): one pass over the
// text with character codes, no regex, no split into lines and no string per label or field, and
// with `keep`, no objects for the samples nobody reads (a node exporter writes hundreds of series; a
// task's signals and checks read a handful). Every line is still checked, so a malformed one still
// fails the scrape. It accepts exactly what the reference parser (prom-text-reference.ts) accepts
// and returns the same samples: any line it does not take on its fast path (an error, a rare
// spelling) hands the whole text to the reference, whose answer (and error message) is then the
// result. Why: parsing was the largest cost left in the agent's scraping (bench/RESULTS.md, "Task
// metrics"); prom-text.test.ts compares both parsers on real and fuzzed expositions.
import { exemplarProblem, parsePromTextReference, promTypes } from "./prom-text-reference.ts";
import { isParseError } from "./prom-types.ts";
import type { PromExposition, PromParseError, PromParseLimits, PromSample } from "./prom-types.ts";

export { parsePromFloat } from "./prom-text-reference.ts";
export { isParseError } from "./prom-types.ts";
export type { PromExposition, PromParseError, PromParseLimits, PromSample } from "./prom-types.ts";

/** Parses an exposition; every line must be valid. With `limits.keep`, only those names' samples are
 * returned (`count` has them all). */
export function parsePromText(text: string, limits: PromParseLimits = {}): PromExposition | PromParseError {
  return scanPromText(text, limits) ?? viaReference(text, limits);
}

function viaReference(text: string, limits: PromParseLimits): PromExposition | PromParseError {
  const r = parsePromTextReference(text, limits);
  const keep = limits.keep;
  if (isParseError(r) || keep === undefined) return r;
  return { samples: r.samples.filter((s) => keep.has(s.name)), types: r.types, count: r.count };
}

/** JavaScript's white space (what `trim()` removes and `\s` matches). */
function isSpace(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** `[a-zA-Z_:]` */
function isNameStart(c: number): boolean {
  return isLetter(c) || c === 95 || c === 58;
}

/** The fast path alone (tests check it is taken): the parse, or null when any line needs the reference parser. */
export function scanPromText(text: string, limits: PromParseLimits): PromExposition | null {
  const maxSamples = limits.maxSamples ?? 100_000;
  const maxLineChars = limits.maxLineChars ?? 65_536;
  const om = limits.openMetrics === true;
  const keep = limits.keep === undefined ? null : [...limits.keep];
  const out: Scan = { samples: [], count: 0 };
  const types = new Map<string, string>();
  let eof = false;
  let pos = 0;
  for (;;) {
    const nl = text.indexOf("\n", pos);
    const last = nl < 0;
    const end = last ? text.length : nl;
    let e = end;
    if (e > pos && text.charCodeAt(e - 1) === 13) e--;
    if (e - pos > maxLineChars) return null;
    let s = pos;
    while (s < e && isSpace(text.charCodeAt(s))) s++;
    let t = e;
    while (t > s && isSpace(text.charCodeAt(t - 1))) t--;
    if (om && eof) {
      if (s !== t || !last) return null;
    } else if (s < t) {
      if (text.charCodeAt(s) === 35) {
        if (t - s === 5 && text.startsWith("# EOF", s)) eof = true;
        else if (!typeLine(text, s, t, types)) return null;
      } else {
        if (out.count >= maxSamples) return null;
        if (!sampleLine(text, s, t, om, keep, out)) return null;
      }
    }
    if (last) break;
    pos = end + 1;
  }
  if (om && !eof) return null;
  return { samples: out.samples, types, count: out.count };
}

interface Scan {
  samples: PromSample[];
  count: number;
}

/** A comment line [s, t): records a `# TYPE name type` line (the reference's
 * `^#\s+TYPE\s+(\S+)\s+(\S+)\s*$`; any other comment is ignored); false when it needs the reference. */
function typeLine(text: string, s: number, t: number, types: Map<string, string>): boolean {
  let p = s + 1;
  if (p >= t || !isSpace(text.charCodeAt(p))) return true;
  while (p < t && isSpace(text.charCodeAt(p))) p++;
  if (p + 4 > t || !text.startsWith("TYPE", p)) return true;
  p += 4;
  if (p >= t || !isSpace(text.charCodeAt(p))) return true;
  while (p < t && isSpace(text.charCodeAt(p))) p++;
  const n0 = p;
  while (p < t && !isSpace(text.charCodeAt(p))) p++;
  const n1 = p;
  if (p >= t) return true;
  while (p < t && isSpace(text.charCodeAt(p))) p++;
  const t0 = p;
  while (p < t && !isSpace(text.charCodeAt(p))) p++;
  if (p < t) return true;
  if (!isNameStart(text.charCodeAt(n0))) return false;
  for (let i = n0 + 1; i < n1; i++) {
    const c = text.charCodeAt(i);
    if (!isNameStart(c) && !isDigit(c)) return false;
  }
  const type = text.slice(t0, t);
  if (!promTypes.has(type)) return false;
  types.set(text.slice(n0, n1), type);
  return true;
}

/** A sample line [s, t) (trimmed, not a comment): counted, and kept when its name is; false when it
 * needs the reference (malformed, or spelled in a way this path leaves to it). */
function sampleLine(text: string, s: number, t: number, om: boolean, keep: readonly string[] | null, out: Scan): boolean {
  if (!isNameStart(text.charCodeAt(s))) return false;
  let p = s + 1;
  for (let c = text.charCodeAt(p); p < t && (isNameStart(c) || isDigit(c)); c = text.charCodeAt(++p));
  let name: string | null = null;
  if (keep === null) name = text.slice(s, p);
  else {
    for (const k of keep) {
      if (k.length === p - s && text.startsWith(k, s)) {
        name = k;
        break;
      }
    }
  }
  const labels: Record<string, string> | null = name === null ? null : {};
  if (p < t && text.charCodeAt(p) === 123) {
    p = labelsAt(text, p + 1, t, labels);
    if (p < 0) return false;
  }
  if (p >= t || !isSpace(text.charCodeAt(p))) return false;
  let b = t;
  if (om) {
    for (let x = p; x + 3 <= t; x++) {
      if (text.charCodeAt(x) === 32 && text.charCodeAt(x + 1) === 35 && text.charCodeAt(x + 2) === 32) {
        if (exemplarProblem(text.slice(x + 3, t).trim()) !== null) return false;
        b = x;
        break;
      }
    }
  }
  // The fields: a value and at most a timestamp, separated by white space.
  while (p < b && isSpace(text.charCodeAt(p))) p++;
  while (b > p && isSpace(text.charCodeAt(b - 1))) b--;
  if (p === b) return false;
  const v0 = p;
  while (p < b && !isSpace(text.charCodeAt(p))) p++;
  const v1 = p;
  if (p < b) {
    while (p < b && isSpace(text.charCodeAt(p))) p++;
    const t0 = p;
    while (p < b && !isSpace(text.charCodeAt(p))) p++;
    if (p < b || floatAt(text, t0, p, false) === null) return false;
  }
  const value = floatAt(text, v0, v1, name !== null);
  if (value === null) return false;
  out.count++;
  if (name !== null && labels !== null) out.samples.push({ name, labels, value });
  return true;
}

const nameStarts: number[] = [];
const nameEnds: number[] = [];

/** Reads `a="x",b="y"}` from `p` (just after `{`) into `labels` (or only checks it when null);
 * the index after `}`, or -1 when the line needs the reference. */
function labelsAt(text: string, p: number, t: number, labels: Record<string, string> | null): number {
  let n = 0;
  for (;;) {
    while (p < t && text.charCodeAt(p) === 32) p++;
    if (p >= t) return -1;
    let c = text.charCodeAt(p);
    if (c === 125) return p + 1;
    if (!isLetter(c) && c !== 95) return -1;
    const ns = p++;
    for (c = text.charCodeAt(p); p < t && (isLetter(c) || isDigit(c) || c === 95); c = text.charCodeAt(++p));
    const ne = p;
    if (p + 1 >= t || text.charCodeAt(p) !== 61 || text.charCodeAt(p + 1) !== 34) return -1;
    p += 2;
    let seg = p;
    let escaped = "";
    for (;;) {
      if (p >= t) return -1;
      c = text.charCodeAt(p);
      if (c === 34) break;
      if (c !== 92) {
        p++;
        continue;
      }
      if (p + 1 >= t) return -1;
      const e = text.charCodeAt(p + 1);
      if (e !== 110 && e !== 92 && e !== 34) return -1;
      if (labels !== null) escaped += text.slice(seg, p) + (e === 110 ? "\n" : e === 92 ? "\\" : '"');
      p += 2;
      seg = p;
    }
    if (labels !== null) {
      const name = text.slice(ns, ne);
      if (Object.hasOwn(labels, name)) return -1;
      labels[name] = escaped + text.slice(seg, p);
    } else {
      for (let j = 0; j < n; j++) if (sameText(text, nameStarts[j] ?? 0, nameEnds[j] ?? 0, ns, ne)) return -1;
      nameStarts[n] = ns;
      nameEnds[n] = ne;
      n++;
    }
    p++;
    while (p < t && text.charCodeAt(p) === 32) p++;
    if (p < t && text.charCodeAt(p) === 44) p++;
    else if (p >= t || text.charCodeAt(p) !== 125) return -1;
  }
}

/** True when [a0, a1) and [b0, b1) hold the same characters. */
function sameText(text: string, a0: number, a1: number, b0: number, b1: number): boolean {
  if (a1 - a0 !== b1 - b0) return false;
  for (let i = 0; i < a1 - a0; i++) if (text.charCodeAt(a0 + i) !== text.charCodeAt(b0 + i)) return false;
  return true;
}

/** `word` (lower case) at [p, b) in any case. */
function isWord(text: string, p: number, b: number, word: string): boolean {
  if (b - p !== word.length) return false;
  for (let i = 0; i < word.length; i++) if ((text.charCodeAt(p + i) | 0x20) !== word.charCodeAt(i)) return false;
  return true;
}

/** The float at [a, b) as parsePromFloat reads it, or null when it is not one; with `need` false, 0
 * for any valid float (checked, not converted). */
function floatAt(text: string, a: number, b: number, need: boolean): number | null {
  let p = a;
  let c = text.charCodeAt(p);
  const signed = c === 43 || c === 45;
  if (signed) c = text.charCodeAt(++p);
  if (p >= b) return null;
  if ((c | 0x20) === 105 || (c | 0x20) === 110) {
    if (isWord(text, p, b, "nan")) return signed ? null : NaN;
    if (isWord(text, p, b, "inf") || isWord(text, p, b, "infinity")) return text.charCodeAt(a) === 45 ? -Infinity : Infinity;
    return null;
  }
  const d0 = p;
  while (p < b && isDigit(text.charCodeAt(p))) p++;
  const digits = p - d0;
  if (p < b && text.charCodeAt(p) === 46) {
    const f0 = ++p;
    while (p < b && isDigit(text.charCodeAt(p))) p++;
    if (digits === 0 && p === f0) return null;
  } else if (digits === 0) return null;
  if (p < b && (text.charCodeAt(p) | 0x20) === 101) {
    p++;
    if (p < b && (text.charCodeAt(p) === 43 || text.charCodeAt(p) === 45)) p++;
    const e0 = p;
    while (p < b && isDigit(text.charCodeAt(p))) p++;
    if (p === e0) return null;
  }
  if (p !== b) return null;
  if (!need) return 0;
  if (!signed && digits === b - a && digits <= 15) {
    let n = 0;
    for (let i = a; i < b; i++) n = n * 10 + (text.charCodeAt(i) - 48);
    return n;
  }
  return Number(text.slice(a, b));
}
