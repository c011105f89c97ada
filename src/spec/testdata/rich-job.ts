// A job spec, as users write it, that uses most fields: the seed the spec fuzzers mutate
// (src/spec/fuzz.test.ts, src/server/spec-fuzz.test.ts). Batch jobs and schedules are in
// examples/run-batch.ts. It names no package, so a real server accepts it as it is.

/** A fresh copy of the rich job called `name` (a fuzzer mutates it in place). */
export function richJob(name: string): Record<string, unknown> {
  return {
    name,
    command: ["./web", "--port", "${PORT_HTTP}"],
    env: { MODE: "prod", N: 3, ON: true },
    files: { "conf/app.toml": "x = 1", "run.sh": { content: "#!/bin/sh", mode: "0755" } },
    replicas: 2,
    resources: { cpu: 0.5, memory: "256Mi", disk: 512, adapt: { min: { cpu: 0.1 }, max: { memory: "1Gi" }, every: "6h" } },
    ports: ["http"],
    health: { kind: "http", port: "http", path: "/healthz", every: "2s", timeout: "1s" },
    restart: { backoff: { initial: "1s", max: "1m" }, moveAfterFailures: 3 },
    stop: { signal: "SIGTERM", grace: "10s" },
    constraints: { os: "debian", kernel: ">=5.10", labels: { ssd: true } },
    spread: "rack",
    antiAffinity: name,
    maintenance: "move",
    disconnect: { stopAfter: "30s" },
    isolation: "sandbox",
    network: "host",
    mounts: [{ host: "/srv/data", task: "/data" }],
    capabilities: ["NET_BIND_SERVICE"],
    persist: true,
    metrics: { port: "http", signals: { errors: "http_errors_total" } },
    rollout: { phases: [1, "50%", "all"], bake: "10s", deadline: "5m", maxUnavailable: "10%", checks: {} },
  };
}
