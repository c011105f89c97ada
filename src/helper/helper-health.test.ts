// The http health check end to end: a real helper checks a server this test controls.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { alive, HelperHarness } from "./testkit.ts";

const h = new HelperHarness();
let healthy = true;
const server = http.createServer((_req, res) => {
  res.statusCode = healthy ? 200 : 500;
  res.end();
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
after(async () => {
  await h.cleanup();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

void test("http health check: passing makes it healthy, failing makes it unhealthy, then stopped", async () => {
  const dir = h.attempt({
    command: ["sleep", "30"],
    ports: { web: (server.address() as AddressInfo).port },
    health: { kind: "http", port: "web", path: "/health", intervalMs: 150, timeoutMs: 500, failures: 2, graceMs: 100, action: "restart" },
  });
  h.start(dir);
  const agent = await h.agent(dir);
  agent.startPinging(200);
  const ok = await agent.waitStatus("healthy", (s) => s.state === "healthy");
  healthy = false;
  const final = await agent.waitStatus("failed", (s) => s.state === "failed");
  assert.match(final.reason ?? "", /^health check failed: GET http:\/\/127\.0\.0\.1:\d+\/health: 500$/);
  assert.equal(final.endCause, "health", "the server reads the typed cause, not the reason's text");
  const states = agent.statuses.map((s) => s.state).filter((s, i, all) => s !== all[i - 1]);
  assert.deepEqual(states, ["starting", "running", "healthy", "unhealthy", "failed"].slice(states[0] === "starting" ? 0 : 1));
  assert.equal(alive(ok.pid ?? 0), false);
});
