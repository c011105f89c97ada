// Type-level checks of the user-facing types: tsc checks this file, the test only runs it. Each
// expect-error directive below fails the typecheck if its mistake ever stops being a type error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaults, http, job } from "./index.ts";
import type { JobInput } from "./index.ts";

void test("the types accept good specs and reject common mistakes", () => {
  const web = defaults({ resources: { cpu: 0.5, memory: "256Mi" }, spread: "rack", stop: { signal: "SIGTERM", grace: "10s" } });
  const good: JobInput = {
    ...web,
    name: "frontend",
    command: ["node", "server.js"],
    ports: { http: {} },
    health: http({ port: "http", path: "/healthz", every: "2s", then: "restart" }),
    constraints: { os: "debian", kernel: ">=6.1", labels: { ssd: "true" } },
  };
  const jobs = [
    job(good),
    // @ts-expect-error command is required
    job({ name: "x" }),
    // @ts-expect-error spread is one of the known levels
    job({ name: "x", command: ["x"], spread: "planet" }),
    // @ts-expect-error replicas is a number
    job({ name: "x", command: ["x"], replicas: "3" }),
    // @ts-expect-error misspelled fields are caught
    job({ name: "x", command: ["x"], replica: 3 }),
    // @ts-expect-error then is restart or move
    job({ name: "x", command: ["x"], health: http({ port: "http", then: "explode" }) }),
  ];
  assert.equal(jobs.length, 6);
});
