import { test } from "node:test";
import assert from "node:assert/strict";
import { isParseError, parsePromFloat, parsePromText } from "./prom-text.ts";
import { Counter, Histogram, Registry } from "prom-client";
import { promClientExposition } from "./test-prom-client.ts";
import type { OpenMetricsContentType } from "prom-client";
import type { PromExposition } from "./prom-text.ts";

function parsed(text: string): PromExposition {
  const r = parsePromText(text);
  if (isParseError(r)) assert.fail(`line ${r.line}: ${r.message}`);
  return r;
}

void test("prom-client's real exposition parses: every family, labels with escapes, +Inf buckets", async () => {
  const expo = parsed(await promClientExposition());
  const find = (name: string) => expo.samples.filter((s) => s.name === name);
  assert.deepEqual(find("http_errors_total"), [{ name: "http_errors_total", labels: { path: 'a "quoted"\\path\nnext' }, value: 3 }]);
  assert.equal(find("http_connections")[0]?.value, 7);
  assert.deepEqual(find("http_request_duration_seconds_bucket").map((s) => [s.labels["le"], s.value]), [["0.1", 1], ["0.5", 1], ["+Inf", 2]]);
  assert.equal(expo.types.get("http_request_duration_seconds"), "histogram");
  assert.equal(expo.types.get("rpc_seconds"), "summary");
  assert.ok(find("rpc_seconds").some((s) => s.labels["quantile"] === "0.99"));
  assert.ok(expo.samples.length > 40, "the default process metrics are there too");
});

void test("timestamps, NaN, Inf, comments, CRLF and # EOF are accepted", () => {
  const expo = parsed('# a comment\r\nup 1 1700000000000\r\nx{a="b",} NaN\ny -Inf\nz +Inf\n# EOF\n');
  assert.deepEqual(expo.samples.map((s) => [s.name, s.value]), [["up", 1], ["x", NaN], ["y", -Infinity], ["z", Infinity]]);
});

void test("malformed expositions fail with their line", () => {
  const cases: [string, string, number, RegExp][] = [
    ["HTML", "<html><body>hi</body></html>", 1, /metric name/],
    ["value not a number", "ok 1\nx abc", 2, /not a number/],
    ["no value", "x", 1, /space and a value/],
    ["unterminated label", 'x{a="b} 1', 1, /unterminated/],
    ["bad escape", 'x{a="\\t"} 1', 1, /bad escape/],
    ["label twice", 'x{a="1",a="2"} 1', 1, /twice/],
    ["missing quote", "x{a=1} 1", 1, /="value"/],
    ["extra fields", "x 1 2 3", 1, /at most a timestamp/],
    ["unknown type", "# TYPE x widget", 1, /unknown metric type/],
    ["binary junk", "\u0000\u0001\u0002", 1, /metric name/],
    ["number with junk", "x 1.2.3", 1, /not a number/],
  ];
  for (const [name, text, line, message] of cases) {
    const r = parsePromText(text);
    assert.ok(isParseError(r), name);
    assert.equal(r.line, line, name);
    assert.match(r.message, message, name);
  }
});

void test("limits: samples and line length", () => {
  const many = Array.from({ length: 11 }, (_, i) => `m${i} 1`).join("\n");
  const r = parsePromText(many, { maxSamples: 10 });
  assert.ok(isParseError(r) && r.line === 11 && /more than 10 samples/.test(r.message));
  const long = parsePromText(`x{a="${"y".repeat(100)}"} 1`, { maxLineChars: 50 });
  assert.ok(isParseError(long) && /longer than 50/.test(long.message));
});

void test("parsePromFloat: Prometheus floats only", () => {
  const cases: [string, number | null][] = [["1", 1], ["-2.5e3", -2500], [".5", 0.5], ["+Inf", Infinity], ["NaN", NaN], ["0x10", null], ["", null], ["1e", null], ["Infinity", Infinity], ["Nan", NaN], ["-inf", -Infinity], ["+NaN", null]];
  for (const [text, want] of cases) assert.deepEqual(parsePromFloat(text), want, text);
});

void test("OpenMetrics: prom-client's real output with exemplars reads as the text format does", async () => {
  const reg = new Registry<OpenMetricsContentType>();
  reg.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const c = new Counter({ name: "http_errors", help: "errors", labelNames: ["code", "trace_id"], registers: [reg], enableExemplars: true });
  c.inc({ labels: { code: "500" }, value: 3, exemplarLabels: { trace_id: "abc" } });
  const h = new Histogram({ name: "http_request_duration_seconds", help: "latency", labelNames: ["trace_id"], buckets: [0.1, 0.5], registers: [reg], enableExemplars: true });
  h.observe({ value: 0.05, exemplarLabels: { trace_id: "def" } });
  const text = await reg.metrics();
  assert.match(text, /# EOF\n?$/);
  assert.match(text, / # \{trace_id="def"\}/, "an exemplar is in the exposition");
  const r = parsePromText(text, { openMetrics: true });
  if (isParseError(r)) assert.fail(`line ${r.line}: ${r.message}`);
  assert.deepEqual(r.samples.find((s) => s.name === "http_errors_total"), { name: "http_errors_total", labels: { code: "500" }, value: 3 });
  assert.equal(r.samples.find((s) => s.name === "http_request_duration_seconds_bucket" && s.labels["le"] === "0.1")?.value, 1);
});

void test("OpenMetrics: # EOF required, last, and exemplars checked", () => {
  const cases: [string, string, RegExp | null][] = [
    ["complete", "# TYPE a counter\na_total 1\na_created 1.7e9\n# EOF\n", null],
    ["complete without the final newline", "a_total 1\n# EOF", null],
    ["cut short: no # EOF", "a_total 1\nb 2\n", /no "# EOF"/],
    ["content after # EOF", "a_total 1\n# EOF\nb 2\n", /after "# EOF"/],
    ["exemplar with a timestamp", 'a_bucket{le="1"} 3 # {trace_id="x"} 0.5 1.7e9\n# EOF\n', null],
    ["exemplar without labels", "a_bucket 3 # 0.5\n# EOF\n", /expected \{labels\}/],
    ["exemplar without a value", 'a_bucket 3 # {t="x"}\n# EOF\n', /exemplar/],
  ];
  for (const [name, text, problem] of cases) {
    const r = parsePromText(text, { openMetrics: true });
    if (problem === null) assert.ok(!isParseError(r), `${name}: ${isParseError(r) ? r.message : ""}`);
    else assert.ok(isParseError(r) && problem.test(r.message), `${name}: ${isParseError(r) ? r.message : "parsed"}`);
  }
  // The Prometheus text format has no exemplars: the same line is malformed there.
  assert.ok(isParseError(parsePromText('a_bucket 3 # {t="x"} 1\n')));
});
