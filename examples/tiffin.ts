// The example `tiffin dev` applies. Try `npx tiffin plan examples/tiffin.ts` after editing it, then
// `npx tiffin apply examples/tiffin.ts`.
//
// A task runs in a fresh directory on its host, so each job ships its program in `files`, read here
// when the spec is evaluated.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { job, http } from "tiffin";
import { team } from "./team-defaults.ts";

const source = (path: string) => readFileSync(join(import.meta.dirname, path), "utf8");

export default [
  job({
    ...team,
    name: "web",
    command: ["node", "server.mjs"],
    files: { "server.mjs": source("web/server.mjs") },
    replicas: 3,
    ports: { http: {} }, // allocated per task, handed over as PORT_HTTP
    health: http({ port: "http", path: "/healthz", every: "1s", timeout: "500ms", failures: 3, then: "restart" }),
  }),
  job({
    ...team,
    name: "worker",
    command: ["node", "worker.mjs"],
    files: { "worker.mjs": source("worker/worker.mjs") },
    replicas: 2,
    resources: { cpu: 0.1, memory: "32Mi", disk: "32Mi" },
  }),
];
