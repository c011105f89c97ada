// One team's defaults, shared by its jobs through an ordinary import (spread first, then override).
import { defaults } from "tiffin";

/** Small services: a quarter core each, restarted with back-off, spread across racks. */
export const team = defaults({
  resources: { cpu: 0.25, memory: "64Mi", disk: "64Mi" },
  restart: { backoff: { initial: "200ms", max: "10s" }, moveAfterFailures: 5 },
  spread: "rack",
  stop: { signal: "SIGTERM", grace: "5s" },
});
