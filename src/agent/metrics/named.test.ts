// Named metric readings from one scrape (table): sums over label sets, `_total` counters, histogram
// buckets by `le` (+Inf as null), missing names as null.
import assert from "node:assert/strict";
import { test } from "node:test";
import { namedReadingsOf } from "./named.ts";
import { isParseError, parsePromText } from "./prom-text.ts";

const text = `# TYPE requests counter
requests_total{code="200"} 90
requests_total{code="500"} 10
# TYPE queue_depth gauge
queue_depth{shard="a"} 3
queue_depth{shard="b"} 4
# TYPE request_seconds histogram
request_seconds_bucket{le="0.1",path="/"} 5
request_seconds_bucket{le="0.1",path="/x"} 1
request_seconds_bucket{le="1",path="/"} 8
request_seconds_bucket{le="1",path="/x"} 2
request_seconds_bucket{le="+Inf",path="/"} 9
request_seconds_bucket{le="+Inf",path="/x"} 2
request_seconds_sum 4
request_seconds_count 11
`;

void test("namedReadingsOf (table)", () => {
  const expo = parsePromText(text, { maxSamples: 1000, openMetrics: false });
  assert.ok(!isParseError(expo));
  const got = namedReadingsOf(expo, ["requests", "requests_total", "queue_depth", "request_seconds", "absent"], 7);
  assert.deepEqual(got, [
    { name: "requests", at: 7, value: 100, buckets: null },
    { name: "requests_total", at: 7, value: 100, buckets: null },
    { name: "queue_depth", at: 7, value: 7, buckets: null },
    { name: "request_seconds", at: 7, value: null, buckets: [[0.1, 6], [1, 10], [null, 11]] },
    { name: "absent", at: 7, value: null, buckets: null },
  ]);
  assert.deepEqual(namedReadingsOf(expo, [], 7), []);
});
