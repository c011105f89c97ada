// A real exposition for the parser's tests: what prom-client (the Node client most services use) writes
// for a registry holding every metric family, a label value needing every escape, and the default
// process metrics. The parser's own test and its reference comparison read the same text.
import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from "prom-client";

/** prom-client's text exposition of a counter (labels with escapes), a gauge, a histogram, a summary and the defaults. */
export async function promClientExposition(): Promise<string> {
  const reg = new Registry();
  collectDefaultMetrics({ register: reg });
  const c = new Counter({ name: "http_errors_total", help: "errors", labelNames: ["path"], registers: [reg] });
  c.inc({ path: 'a "quoted"\\path\nnext' }, 3);
  new Gauge({ name: "http_connections", help: "open", registers: [reg] }).set(7);
  const h = new Histogram({ name: "http_request_duration_seconds", help: "latency", buckets: [0.1, 0.5], registers: [reg] });
  h.observe(0.05);
  h.observe(2);
  new Summary({ name: "rpc_seconds", help: "rpc", registers: [reg] }).observe(0.3);
  return reg.metrics();
}
