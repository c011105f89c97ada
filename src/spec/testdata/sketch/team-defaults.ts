// Test data of load.test.ts (with tiffin.ts beside it). One team's defaults, shared by many jobs through an ordinary import.
import { defaults } from "tiffin";

export const web = defaults({
  resources: { cpu: 0.5, memory: "256Mi", disk: "1Gi" },
  restart: { backoff: { initial: "200ms", max: "30s" }, moveAfterFailures: 5 },
  spread: "rack",
  stop: { signal: "SIGTERM", grace: "10s" },
});
