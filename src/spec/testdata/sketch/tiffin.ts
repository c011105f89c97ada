// Test data of load.test.ts: the design's sketch of a spec file (most knobs, a shared import),
// copied into the repository so the test reads nothing outside it. `tiffin plan tiffin.ts` shows
// the diff and the placement; `tiffin apply tiffin.ts` makes it so.
import { job, http, command } from "tiffin";
import { web } from "./team-defaults.ts";

export default [
  job({
    ...web,
    name: "frontend",
    packages: ["frontend:stable"],          // resolved to an exact version at apply, then pinned
    command: ["node", "server.js"],
    replicas: 6,
    ports: { http: {} },                    // allocated per task, handed over as PORT_HTTP
    health: http({ port: "http", path: "/healthz", every: "2s", timeout: "1s", failures: 3, then: "restart" }),
    constraints: { os: "debian", kernel: ">=6.1", labels: { ssd: "true" } },
    antiAffinity: "high-bandwidth",          // at most one such task per rack
    maintenance: "move",
  }),
  job({
    name: "indexer",
    command: ["./indexer", "--shard", "${TASK_INDEX}"],
    replicas: 4,
    resources: { cpu: 2, memory: "4Gi" },
    health: command({ run: ["./indexer", "--check"], every: "10s", failures: 2, then: "move" }),
    maintenance: "endure",                  // stopped gracefully and brought back on the same host
    disconnect: { stopAfter: "4s" },        // at most one live copy of each shard, ever
  }),
];
