// The reference parser: the straightforward reading of the format, kept as the authority that
// prom-text.ts's single-pass scanner must agree with (prom-text.test.ts compares both on real and
// fuzzed expositions) and as that scanner's fallback for every line it does not take on its fast
// path (errors, so their messages are this file's, and rare spellings). Not called per scrape.
//
// A strict parser of the Prometheus text exposition format (version 0.0.4) and of OpenMetrics text
// (`openMetrics`: `# EOF` required and last, exemplars after ` # `, `_created` and `# UNIT` lines
// read like any other): `# HELP`/`# TYPE` lines, comments, and samples `name{label="value",...} value
// [timestamp]`. Strict because a scrape that half-parses would show made-up figures: any malformed
// line fails the whole scrape, with its line number, and the agent counts a scrape error. Bounded:
// at most `maxSamples` samples and `maxLineChars` per line. Pure; no dependency (prom-client only
// writes this format, and a full parser library would bring more than these 100 lines).

import type { PromExposition, PromParseError, PromParseLimits, PromSample } from "./prom-types.ts";

const namePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*/;
/** The metric types a `# TYPE` line may declare. */
export const promTypes: ReadonlySet<string> = new Set(["counter", "gauge", "histogram", "summary", "untyped", "unknown", "info", "stateset", "gaugehistogram"]);

/** The value of a sample's value field, or null when it is not a Prometheus float. Like Go's
 * ParseFloat (which Prometheus uses), Inf, Infinity and NaN in any case: prom-client writes "Nan". */
export function parsePromFloat(text: string): number | null {
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
  if (special) {
    if (special[2]?.toLowerCase() === "nan") return special[1] === "" ? NaN : null;
    return special[1] === "-" ? -Infinity : Infinity;
  }
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) return null;
  return Number(text);
}

/** Parses `{a="x",b="y"}` starting at `text[0] === "{"`: the labels and the rest of the line. */
function parseLabels(text: string): { labels: Record<string, string>; rest: string } | string {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    while (text[i] === " ") i++;
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
    const name = labelNamePattern.exec(text.slice(i))?.[0];
    if (!name) return `expected a label name at column ${i + 1}`;
    i += name.length;
    if (text[i] !== "=" || text[i + 1] !== '"') return `expected ="value" after label ${name}`;
    i += 2;
    let value = "";
    for (;;) {
      const c = text[i];
      if (c === undefined) return `unterminated value of label ${name}`;
      i++;
      if (c === '"') break;
      if (c !== "\\") {
        value += c;
        continue;
      }
      const e = text[i++];
      if (e === "n") value += "\n";
      else if (e === "\\" || e === '"') value += e;
      else return `bad escape \\${e ?? ""} in label ${name}`;
    }
    if (Object.hasOwn(labels, name)) return `label ${name} given twice`;
    labels[name] = value;
    while (text[i] === " ") i++;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") return `expected , or } after label ${name}`;
  }
}

/** Parses an exposition; every line must be valid. */
export function parsePromTextReference(text: string, limits: PromParseLimits = {}): PromExposition | PromParseError {
  const maxSamples = limits.maxSamples ?? 100_000;
  const maxLineChars = limits.maxLineChars ?? 65_536;
  const samples: PromSample[] = [];
  const typeOf = new Map<string, string>();
  const lines = text.split("\n");
  let eof = 0;
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n] ?? "";
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const at = n + 1;
    if (line.length > maxLineChars) return { line: at, message: `line longer than ${maxLineChars} characters` };
    const trimmed = line.trim();
    if (limits.openMetrics && eof > 0) {
      if (trimmed === "" && n === lines.length - 1) continue;
      return { line: at, message: `content after "# EOF" (line ${eof})` };
    }
    if (trimmed === "# EOF") eof = at;
    if (trimmed === "" || trimmed === "# EOF") continue;
    if (trimmed.startsWith("#")) {
      const m = /^#\s+TYPE\s+(\S+)\s+(\S+)\s*$/.exec(trimmed);
      if (m) {
        const [, name = "", type = ""] = m;
        if (!namePattern.test(name) || namePattern.exec(name)?.[0] !== name) return { line: at, message: `bad metric name "${name}" in # TYPE` };
        if (!promTypes.has(type)) return { line: at, message: `unknown metric type "${type}"` };
        typeOf.set(name, type);
      }
      continue;
    }
    const name = namePattern.exec(trimmed)?.[0];
    if (!name) return { line: at, message: "expected a metric name" };
    let rest = trimmed.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) {
      const l = parseLabels(rest);
      if (typeof l === "string") return { line: at, message: l };
      labels = l.labels;
      rest = l.rest;
    }
    if (!/^\s/.test(rest)) return { line: at, message: `expected a space and a value after ${name}` };
    const exemplarAt = limits.openMetrics ? rest.indexOf(" # ") : -1;
    if (exemplarAt >= 0) {
      const problem = exemplarProblem(rest.slice(exemplarAt + 3).trim());
      if (problem !== null) return { line: at, message: problem };
      rest = rest.slice(0, exemplarAt);
    }
    const fields = rest.trim().split(/\s+/);
    if (fields.length > 2) return { line: at, message: "expected a value and at most a timestamp" };
    const value = parsePromFloat(fields[0] ?? "");
    if (value === null) return { line: at, message: `"${fields[0] ?? ""}" is not a number` };
    if (fields[1] !== undefined && parsePromFloat(fields[1]) === null) return { line: at, message: `"${fields[1]}" is not a timestamp` };
    if (samples.length >= maxSamples) return { line: at, message: `more than ${maxSamples} samples` };
    samples.push({ name, labels, value });
  }
  if (limits.openMetrics && eof === 0) return { line: lines.length, message: 'no "# EOF": an OpenMetrics exposition must end with it (cut short?)' };
  return { samples, types: typeOf, count: samples.length };
}

/** Why an OpenMetrics exemplar (`{labels} value [timestamp]`, after ` # `) is malformed, or null. */
export function exemplarProblem(text: string): string | null {
  if (!text.startsWith("{")) return "expected {labels} after # in an exemplar";
  const l = parseLabels(text);
  if (typeof l === "string") return `exemplar: ${l}`;
  const fields = l.rest.trim().split(/\s+/);
  if (fields.length < 1 || fields.length > 2 || parsePromFloat(fields[0] ?? "") === null) return "expected a value and at most a timestamp in an exemplar";
  if (fields[1] !== undefined && parsePromFloat(fields[1]) === null) return `exemplar: "${fields[1]}" is not a timestamp`;
  return null;
}
