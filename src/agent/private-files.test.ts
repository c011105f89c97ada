// What an agent and its helpers write is private: in a pre-made 0755 data dir, after a sandboxed task
// with a secret in its env ran and logged, user nobody (a real process with its uid) can read none of
// agent.json (the host token), assignment.json, attempt.json, sandbox/config.json (the env), the
// task's logs or the helper's files; the data dir, attempts/ and each attempt dir are 0700 and those
// files 0600.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { startAgent } from "./main.ts";
import { openToOthers as openToOthersIn, readableByNobody } from "../model/private-probe.ts";
import { FakeServer, killAttempts, testAssignment, testLogger, testSpec, waitFor } from "./test-fixtures.ts";

/** Every path under `dir` whose mode lets group or others in, but the task's own (work/, the rootfs). */
function openToOthers(dir: string): string[] {
  return openToOthersIn(dir, {
    // The bundle dir is traverse-only (0711) so the user namespace's root reaches the rootfs; it
    // cannot be listed and its config.json is 0600 (checked above as unreadable).
    allowed: (p, st) => st.isDirectory() && path.basename(p) === "sandbox" && (st.mode & 0o777) === 0o711,
    descend: (p) => path.basename(p) !== "work" && path.basename(p) !== "rootfs",
  });
}

void test("a pre-made 0755 agent data dir: the env, tokens and logs of a task are not readable by other users", async (t) => {
  const server = new FakeServer();
  await server.up();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-agent-private-"));
  fs.chmodSync(dataDir, 0o755);
  let agent: Awaited<ReturnType<typeof startAgent>> | null = null;
  t.after(async () => {
    await agent?.close("stop-tasks").catch(() => {});
    killAttempts(dataDir);
    await server.down();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  agent = await startAgent({ server: server.url, joinToken: server.joinToken, dataDir, name: "box-1", labels: {}, resources: { cores: 2, memoryMiB: 2048 }, log: testLogger() });
  const secret = "hunter2-secret";
  const a = testAssignment("att-private-1", testSpec({ command: ["node", "-e", "console.log('the secret is ' + process.env.SECRET); setInterval(() => {}, 1000)"], env: { SECRET: secret } }));
  server.assign([a]);
  const dir = path.join(dataDir, "attempts", a.attempt.id);
  await waitFor("running", () => server.updatesOf(a.attempt.id).find((u) => u.state === "running"));
  await waitFor("sandbox config written", () => fs.existsSync(path.join(dir, "sandbox", "config.json")));
  await waitFor("a log segment", () => fs.existsSync(path.join(dir, "logs")) && fs.readdirSync(path.join(dir, "logs")).some((f) => f.startsWith("stdout")));
  const withSecret = ["assignment.json", "attempt.json", "sandbox/config.json"].map((f) => path.join(dir, f));
  for (const f of withSecret) assert.ok(fs.readFileSync(f, "utf8").includes(secret), `${f} holds the env: what is at stake`);

  const logs = fs.readdirSync(path.join(dir, "logs")).map((f) => path.join(dir, "logs", f));
  const files = [dataDir, path.join(dataDir, "agent.json"), path.join(dataDir, "attempts"), dir, ...withSecret, path.join(dir, "logs"), ...logs, path.join(dir, "status.json"), path.join(dir, "helper.log"), path.join(dir, "helper.pid")];
  assert.deepEqual(readableByNobody(files), []);
  assert.deepEqual(openToOthers(path.join(dataDir, "attempts")).concat(openToOthers(path.join(dataDir, "agent.json"))), []);
  assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700);
});
