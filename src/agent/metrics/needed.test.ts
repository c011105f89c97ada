// samplesNeeded (table): the signals and named readings of an exposition parsed with `keep` are those
// of the whole exposition, for each way a job maps its signals and names its metrics.
import assert from "node:assert/strict";
import { test } from "node:test";
import { namedReadingsOf } from "./named.ts";
import { samplesNeeded } from "./needed.ts";
import { isParseError, parsePromText } from "./prom-text.ts";
import { pointOf } from "./signals.ts";

const text = `# TYPE http_connections gauge
http_connections{worker="1"} 2
http_connections{worker="2"} 1
http_connections_total 99
# TYPE http_errors counter
http_errors_total{code="500"} 7
http_errors_total{code="503"} 2
http_errors_created 1.7e9
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.1"} 3
http_request_duration_seconds_bucket{le="+Inf"} 5
http_request_duration_seconds_sum 2.5
http_request_duration_seconds_count 5
rpc_seconds{quantile="0.5"} 0.2
rpc_seconds{quantile="0.99"} 0.9
rpc_seconds_sum 4
rpc_seconds_count 10
queue_depth{shard="a"} 3
queue_depth{shard="b"} 4
unrelated_total 1
unrelated_bucket{le="1"} 1
`;

void test("samplesNeeded: the same signals and named readings from the kept samples as from all", () => {
  const cases: [string, { clients: string | null; errors: string | null; latency: string | null }, string[]][] = [
    ["histogram latency, _total errors", { clients: "http_connections", errors: "http_errors_total", latency: "http_request_duration_seconds" }, []],
    ["OpenMetrics family name for errors", { clients: "http_connections", errors: "http_errors", latency: "rpc_seconds" }, []],
    ["summary latency, named metrics of each kind", { clients: null, errors: null, latency: "rpc_seconds" }, ["queue_depth", "http_errors", "http_request_duration_seconds", "absent"]],
    ["nothing mapped", { clients: null, errors: null, latency: null }, []],
    ["names that are other names' spellings", { clients: "http_connections_total", errors: "unrelated", latency: "unrelated" }, ["http_errors_total", "rpc_seconds_sum"]],
  ];
  const all = parsePromText(text);
  assert.ok(!isParseError(all));
  for (const [name, signals, named] of cases) {
    const keep = samplesNeeded(signals, named);
    const kept = parsePromText(text, { keep });
    assert.ok(!isParseError(kept), name);
    assert.equal(kept.count, all.count, `${name}: every sample is counted`);
    assert.ok(kept.samples.length < all.samples.length, `${name}: some samples skipped`);
    for (const q of [0.5, 0.99]) assert.deepStrictEqual(pointOf(kept, signals, q, 7), pointOf(all, signals, q, 7), `${name}: signals at ${q}`);
    assert.deepStrictEqual(namedReadingsOf(kept, named, 7), namedReadingsOf(all, named, 7), `${name}: named readings`);
  }
});
