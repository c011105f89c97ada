// The agent's single-pass parser (prom-text.ts) against the reference parser (prom-text-reference.ts):
// on real expositions and on fuzzed ones, the same samples, types and count, or the same error (line
// and message), never a throw; with `keep`, the reference's samples of those names only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Counter, Registry } from "prom-client";
import { promClientExposition } from "./test-prom-client.ts";
import type { OpenMetricsContentType } from "prom-client";
import { parsePromText, scanPromText } from "./prom-text.ts";
import { parsePromTextReference } from "./prom-text-reference.ts";
import type { PromExposition, PromParseError, PromParseLimits } from "./prom-types.ts";
import { isParseError } from "./prom-types.ts";

/** What parsePromText must return: the reference's answer, filtered to `keep`. */
function expected(text: string, limits: PromParseLimits): PromExposition | PromParseError {
  const r = parsePromTextReference(text, limits);
  const keep = limits.keep;
  if (isParseError(r) || keep === undefined) return r;
  return { samples: r.samples.filter((s) => keep.has(s.name)), types: r.types, count: r.count };
}

let fastPath = 0;

/** Parses with both and compares; the fast path's own answer too when it took the text. */
function same(text: string, limits: PromParseLimits, what: string): PromExposition | PromParseError {
  let got: PromExposition | PromParseError;
  let fast: PromExposition | null;
  try {
    got = parsePromText(text, limits);
    fast = scanPromText(text, limits);
  } catch (err) {
    assert.fail(`${what}: threw ${String(err)} on ${JSON.stringify(text)}`);
  }
  const want = expected(text, limits);
  const where = `${what}: ${JSON.stringify(text).slice(0, 400)} ${JSON.stringify({ ...limits, keep: limits.keep ? [...limits.keep] : undefined })}`;
  assert.deepStrictEqual(got, want, where);
  if (fast !== null) {
    fastPath++;
    assert.deepStrictEqual(fast, want, `fast path: ${where}`);
  }
  return got;
}

const nodeExporter = `# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.1e-05
go_gc_duration_seconds{quantile="0.5"} 3.4112e-05
go_gc_duration_seconds{quantile="1"} 0.000913
go_gc_duration_seconds_sum 0.123
go_gc_duration_seconds_count 2310
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 3.61748152e+06
node_cpu_seconds_total{cpu="0",mode="iowait"} 1234.56
node_cpu_seconds_total{cpu="1",mode="user"} 98765
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 1.2345678e+10
node_filesystem_avail_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run/user/1000"} 8.3e+08
node_hwmon_temp_celsius{chip="platform_coretemp_0",sensor="temp1"} NaN
node_scrape_collector_success{collector="arp"} 1
node_time_seconds 1.7e+09 1700000000000
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05",route="/api"} 10
http_request_duration_seconds_bucket{le="0.5",route="/api"} 20
http_request_duration_seconds_bucket{route="/api",le="+Inf"} 25
http_request_duration_seconds_sum{route="/api"} 3.5
http_request_duration_seconds_count{route="/api"} 25
weird_labels{path="C:\\\\dir\\"x\\"\\nnext",empty="",uni="héllo ☃ 😀", spaced="no"} -Inf
trailing_comma{a="1",} +Inf
no_labels{} -0
colons:in:name 0.5
# a plain comment, # TYPE lookalikes: #TYPE x gauge, # TYPE x
#	TYPE tabbed_type gauge
  indented_sample{a="b"}   7   1700000000000  
crlf_line 3\r
big_int 123456789012345678
leading_zeros 007
dot_forms{a="1"} .5
dot_forms{a="2"} 5.
exp_forms 1E3
exp_forms_neg -2.5e-3
infs{a="1"} inf
infs{a="2"} -Infinity
nans Nan
`;

const openMetrics = `# TYPE a counter
# UNIT a seconds
# HELP a Help with "quotes" and \\ slashes.
a_total 1
a_created 1.7e9
# TYPE h histogram
h_bucket{le="0.1"} 1 # {trace_id="abc"} 0.05 1.7e9
h_bucket{le="+Inf"} 2 # {trace_id="def"} 2
h_count 2
h_sum 2.05
# EOF
`;

async function promClientTexts(): Promise<string[]> {
  const om = new Registry<OpenMetricsContentType>();
  om.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const e = new Counter({ name: "om_errors", help: "errors", labelNames: ["code", "trace_id"], registers: [om], enableExemplars: true });
  e.inc({ labels: { code: "500" }, value: 3, exemplarLabels: { trace_id: "abc" } });
  return [await promClientExposition(), await om.metrics()];
}

const keeps: (ReadonlySet<string> | undefined)[] = [
  undefined,
  new Set(["http_request_duration_seconds", "http_request_duration_seconds_bucket", "http_errors_total", "http_connections"]),
  new Set(["weird_labels", "no_labels", "node_cpu_seconds_total", "a_total", "h_bucket", "nope"]),
  new Set(),
];

void test("real expositions: the same samples, types and count as the reference parser", async () => {
  const [promClient = "", promClientOm = ""] = await promClientTexts();
  const cases: [string, string, boolean][] = [
    ["node exporter style: summaries, counters, gauges, NaN/+Inf, timestamps, escapes, comments, CRLF", nodeExporter, false],
    ["OpenMetrics: UNIT, _created, exemplars, # EOF", openMetrics, true],
    ["OpenMetrics without the final newline", openMetrics.trimEnd(), true],
    ["prom-client's default metrics and a histogram, a summary, escaped labels", promClient, false],
    ["prom-client's OpenMetrics with an exemplar", promClientOm, true],
    ["empty", "", false],
    ["only comments", "# HELP x y\n# TYPE x gauge\n", false],
  ];
  for (const [name, text, om] of cases) {
    for (const keep of keeps) {
      const r = same(text, { openMetrics: om, ...(keep ? { keep } : {}) }, name);
      assert.ok(!isParseError(r), `${name}: ${isParseError(r) ? `line ${r.line}: ${r.message}` : ""}`);
      if (keep === undefined) assert.equal(r.count, r.samples.length, name);
      assert.notEqual(scanPromText(text, { openMetrics: om, ...(keep ? { keep } : {}) }), null, `${name}: the fast path reads it`);
    }
  }
  const r = parsePromText(nodeExporter, { keep: new Set(["weird_labels", "nans", "crlf_line"]) });
  assert.ok(!isParseError(r));
  assert.deepStrictEqual(r.samples, [
    { name: "weird_labels", labels: { path: 'C:\\dir"x"\nnext', empty: "", uni: "héllo ☃ 😀", spaced: "no" }, value: -Infinity },
    { name: "crlf_line", labels: {}, value: 3 },
    { name: "nans", labels: {}, value: NaN },
  ]);
  assert.equal(r.count, 33, "every sample line is counted, kept or not");
  assert.equal(r.types.get("node_filesystem_avail_bytes"), "gauge");
});

void test("malformed lines, kept or not: the reference's error, with its line", () => {
  const keep = new Set(["kept"]);
  const cases: [string, string, boolean][] = [
    ["bad value in a skipped sample", "kept 1\nother{a=\"b\"} 1.2.3\n", false],
    ["label twice in a skipped sample", 'other{a="1",a="2"} 1', false],
    ["bad escape in a skipped sample", 'other{a="\\t"} 1', false],
    ["unterminated value", 'kept{a="b} 1', false],
    ["too many fields", "other 1 2 3", false],
    ["bad timestamp", "other 1 abc", false],
    ["bad # TYPE", "# TYPE 1x gauge", false],
    ["unknown type", "# TYPE x widget", false],
    ["no # EOF", "kept 1\n", true],
    ["after # EOF", "kept 1\n# EOF\nkept 2\n", true],
    ["bad exemplar", 'kept 1 # {a="b"}\n# EOF\n', true],
    ["exemplar in the text format", 'kept 1 # {a="b"} 1\n', false],
    ["+NaN", "kept +NaN", false],
    ["hex", "kept 0x10", false],
  ];
  for (const [name, text, om] of cases) {
    for (const k of [undefined, keep]) {
      const r = same(text, { openMetrics: om, ...(k ? { keep: k } : {}) }, name);
      assert.ok(isParseError(r), name);
    }
  }
  for (const k of [undefined, keep]) {
    const many = Array.from({ length: 11 }, (_, i) => (i % 2 ? `kept ${i}` : `other${i} 1`)).join("\n");
    assert.ok(isParseError(same(many, { maxSamples: 10, ...(k ? { keep: k } : {}) }, "more samples than allowed")));
    assert.ok(isParseError(same(`other{a="${"y".repeat(100)}"} 1`, { maxLineChars: 50, ...(k ? { keep: k } : {}) }, "line too long")));
  }
});

/** A small seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

const pieces = ["a", "x_y", "kept", ":", "_", "9", "{", "}", "=", '"', "\\", "\\n", '\\"', "\\t", ",", " ", "  ", "\t", "\u00a0", "\u2028", "\ufeff", "\r", "\n", "#", "# ", "TYPE", "HELP", "EOF", "# EOF", "counter", "gauge", "widget", "1", "0", "-", "+", ".", "e", "E", "5", "Inf", "inf", "NaN", "nan", "Infinity", "1.5e3", " # ", "le", "é", "\ud83d", "\u0000", "__proto__", 'x{a="b"} 1', 'kept{le="+Inf"} 2 3', '{a="1",a="2"}'];

void test("fuzzed expositions: never a throw, always the reference's answer", () => {
  const rand = rng(Number(process.env["TIFFIN_FUZZ_SEED"] ?? 13));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const sampleLine = (): string => {
    const labels = Array.from({ length: Math.floor(rand() * 3) }, () => `${pick(["a", "le", "b_2", "a"])}="${pick(["x", "", "1.5", 'q\\"', "\\\\", "\\n", "é"])}"`);
    const value = pick(["1", "-2.5e3", ".5", "5.", "+Inf", "-Inf", "NaN", "Nan", "007", "123456789012345678", "1e", "0x1", "-0", "+1"]);
    return `${pick(["kept", "other", "kept_total", "k:x"])}${labels.length > 0 || rand() < 0.2 ? `{${labels.join(pick([",", ", ", " ,"]))}${rand() < 0.2 ? "," : ""}}` : ""}${pick([" ", "\t", "  "])}${value}${rand() < 0.3 ? ` ${pick(["1700000000000", "-1", "x", "1.5e9"])}` : ""}${rand() < 0.1 ? ' # {t="1"} 0.5' : ""}`;
  };
  const mutate = (line: string): string => {
    const at = Math.floor(rand() * (line.length + 1));
    const r = rand();
    if (r < 0.4) return line.slice(0, at) + pick(pieces) + line.slice(at);
    if (r < 0.7) return line.slice(0, at) + line.slice(at + 1);
    return line;
  };
  const seeds = [nodeExporter, openMetrics];
  let accepted = 0;
  const runs = 2000;
  fastPath = 0;
  for (let i = 0; i < runs; i++) {
    const kind = rand();
    let text: string;
    if (kind < 0.35) text = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => (rand() < 0.6 ? sampleLine() : mutate(sampleLine()))).join("\n");
    else if (kind < 0.7) text = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => Array.from({ length: 1 + Math.floor(rand() * 6) }, () => pick(pieces)).join("")).join("\n");
    else {
      text = pick(seeds);
      for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
        const lines = text.split("\n");
        const j = Math.floor(rand() * lines.length);
        lines[j] = mutate(lines[j] ?? "");
        text = lines.join("\n");
      }
    }
    if (rand() < 0.5) text += "\n";
    const limits: PromParseLimits = {
      openMetrics: rand() < 0.3,
      ...(rand() < 0.5 ? { keep: new Set(["kept", "a", "x_y", "kept_total", "weird_labels", "h_bucket"]) } : {}),
      ...(rand() < 0.2 ? { maxSamples: 1 + Math.floor(rand() * 4) } : {}),
      ...(rand() < 0.2 ? { maxLineChars: 5 + Math.floor(rand() * 40) } : {}),
    };
    if (!isParseError(same(text, limits, `fuzz case ${i}`))) accepted++;
  }
  // Both sides of the line are exercised: many texts parse, many fail.
  assert.ok(accepted > runs / 20 && accepted < runs - runs / 20, `accepted ${accepted} of ${runs}`);
  assert.ok(fastPath > accepted / 2, `the fast path took ${fastPath} of the ${accepted} accepted`);
});
