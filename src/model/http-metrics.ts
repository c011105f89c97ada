// The HTTP latency histogram the server and the agent both export, declared once so a dashboard reads
// both with one query. Each process makes its own (prom-client registries are per process part).

/** Name, help and labels of the histogram; `route` is a route pattern, never a raw path. */
export const HttpDurationMetric = {
  name: "tiffin_http_request_duration_seconds",
  help: "HTTP request latency, from the request's arrival to its response's end, by method, route pattern and status code",
  labelNames: ["method", "route", "code"] as const,
  /** Seconds: API calls take milliseconds; log follows and exec sessions run for minutes. */
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
} as const;

/** A label value for a request that matched no route (one series, whatever the path). */
export const UnmatchedRoute = "unmatched";
