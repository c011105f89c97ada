import { test } from "node:test";
import assert from "node:assert/strict";
import { counterRate, histogramQuantile, pointOf, signalsOf } from "./signals.ts";
import type { ScrapePoint } from "./signals.ts";
import { isParseError, parsePromText } from "./prom-text.ts";
import type { PromExposition } from "./prom-text.ts";

const signals = { clients: "http_connections", errors: "http_errors_total", latency: "http_request_duration_seconds" };

function expo(text: string): PromExposition {
  const r = parsePromText(text);
  if (isParseError(r)) assert.fail(r.message);
  return r;
}

function scrape(at: number, errors: number, buckets: [string, number][], clients = 3): ScrapePoint {
  const lines = [
    `http_connections{worker="1"} ${clients - 1}`,
    `http_connections{worker="2"} 1`,
    `http_errors_total{code="500"} ${errors}`,
    ...buckets.map(([le, n]) => `http_request_duration_seconds_bucket{le="${le}"} ${n}`),
  ];
  return pointOf(expo(lines.join("\n")), signals, 0.5, at);
}

void test("counterRate: named cases", () => {
  const cases: [string, [number, number][], number | null][] = [
    ["steady climb", [[0, 0], [10_000, 50], [20_000, 100]], 5],
    ["flat", [[0, 7], [10_000, 7]], 0],
    ["reset in the middle", [[0, 90], [10_000, 100], [20_000, 10]], 1],
    ["one point", [[0, 5]], null],
    ["no points", [], null],
    ["same instant", [[5, 1], [5, 2]], null],
  ];
  for (const [name, pts, want] of cases) assert.equal(counterRate(pts.map(([at, value]) => ({ at, value }))), want, name);
});

void test("histogramQuantile: named cases, as Prometheus's histogram_quantile", () => {
  const cases: [string, number, [number, number][], number | null][] = [
    ["median inside the first bucket", 0.5, [[0.1, 10], [0.5, 10], [Infinity, 10]], 0.05],
    ["p90 interpolated in the second", 0.9, [[0.1, 50], [0.5, 100], [Infinity, 100]], 0.1 + 0.4 * 0.8],
    ["in +Inf: the highest finite bound", 0.99, [[0.1, 1], [0.5, 1], [Infinity, 10]], 0.5],
    ["no observations", 0.5, [[0.1, 0], [Infinity, 0]], null],
    ["no buckets", 0.5, [], null],
  ];
  for (const [name, q, buckets, want] of cases) {
    const got = histogramQuantile(q, buckets);
    if (want === null) assert.equal(got, null, name);
    else assert.ok(got !== null && Math.abs(got - want) < 1e-9, `${name}: ${got}`);
  }
});

void test("signalsOf: clients summed, errors as a rate, latency over the window's increase", () => {
  const window = [
    scrape(0, 100, [["0.1", 1000], ["1", 1000], ["+Inf", 1000]]),
    // 100 new requests in this window, all slow (between 0.1 and 1 s): the old fast ones must not hide them.
    scrape(10_000, 150, [["0.1", 1000], ["1", 1100], ["+Inf", 1100]], 5),
  ];
  const s = signalsOf(window, 0.5);
  assert.equal(s.clients, 5);
  assert.equal(s.errorsPerSec, 5);
  assert.ok(s.latencySeconds !== null && Math.abs(s.latencySeconds - 0.55) < 1e-9, String(s.latencySeconds));
  assert.deepEqual(signalsOf([window[0]!], 0.5), { clients: 3, errorsPerSec: null, latencySeconds: 0.05 });
  assert.deepEqual(signalsOf([], 0.5), { clients: null, errorsPerSec: null, latencySeconds: null });
});

void test("pointOf: summaries, OpenMetrics counter names, unmapped and missing metrics", () => {
  const text = [
    "# TYPE rpc_seconds summary",
    'rpc_seconds{quantile="0.5"} 0.01',
    'rpc_seconds{quantile="0.99"} 0.4',
    'rpc_seconds{quantile="0.99",method="b"} 0.7',
    "app_errors_total 12",
  ].join("\n");
  const p = pointOf(expo(text), { clients: "absent", errors: "app_errors", latency: "rpc_seconds" }, 0.99, 1);
  assert.deepEqual(p, { at: 1, clients: null, errorsTotal: 12, buckets: null, summaryValue: 0.7 });
  const none = pointOf(expo(text), { clients: null, errors: null, latency: null }, 0.99, 2);
  assert.deepEqual(none, { at: 2, clients: null, errorsTotal: null, buckets: null, summaryValue: null });
});

void test("pointOf: OpenMetrics families with _created series: the family name maps to x_total, _created is no count", () => {
  const text = [
    "# TYPE app_errors counter",
    'app_errors_total{code="500"} 12',
    'app_errors_created{code="500"} 1.7e9',
    "# TYPE rpc_seconds histogram",
    'rpc_seconds_bucket{le="0.5"} 4',
    'rpc_seconds_bucket{le="+Inf"} 4',
    "rpc_seconds_created 1.7e9",
    "# EOF",
  ].join("\n");
  const r = parsePromText(text, { openMetrics: true });
  if (isParseError(r)) assert.fail(r.message);
  const p = pointOf(r, { clients: null, errors: "app_errors", latency: "rpc_seconds" }, 0.5, 1);
  assert.deepEqual(p, { at: 1, clients: null, errorsTotal: 12, buckets: [[0.5, 4], [Infinity, 4]], summaryValue: null });
});
