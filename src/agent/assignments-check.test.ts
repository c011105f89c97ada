// The agent checks the desired set the server pushes before acting on it: a set with an entry it
// cannot read is ignored whole (reconciling with the rest would stop what the bad entry stands for),
// and the tasks it runs keep running. Real agent, real helpers, the fake server of test-fixtures.ts.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import type { Assignment } from "../api/types.ts";
import { startAgent } from "./main.ts";
import { FakeServer, killAttempts, testAssignment, testLogger, testSpec, waitFor } from "./test-fixtures.ts";

void test("a pushed set with an unreadable entry is ignored whole; what runs keeps running", async (t) => {
  const server = new FakeServer();
  await server.up();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-agent-check-"));
  const agent = await startAgent({ server: server.url, joinToken: server.joinToken, dataDir, name: "box-1", labels: {}, resources: { cores: 4, memoryMiB: 4096 }, log: testLogger(), allowUnsandboxed: true });
  t.after(async () => {
    await agent.close("leave-tasks").catch(() => {});
    killAttempts(dataDir);
    await server.down();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const spec = testSpec({ isolation: "none" });
  const good = testAssignment("good-1", spec);
  server.assign([good]);
  await waitFor("good-1 running", () => server.updatesOf("good-1").find((u) => u.state === "running"));
  // A server of another version: its second entry's command is one string, not an argv array.
  const bad = testAssignment("bad-1", { ...spec, name: "other", command: "sleep 100" as unknown as string[] });
  server.assign([good, bad] as Assignment[]);
  await sleep(1500);
  assert.deepEqual(server.updatesOf("bad-1"), [], "nothing was done with the set");
  const last = server.updatesOf("good-1").at(-1);
  assert.equal(last?.state, "running", "good-1 was not touched");
  // The next readable set is acted on.
  server.assign([]);
  await waitFor("good-1 stopped", () => server.updatesOf("good-1").find((u) => u.state === "stopped"));
});
