// Bad input never crashes, never loses state: attempt directories whose saved files are corrupt (a kill -9
// mid-write, a full disk, a hand edit) are logged with the reason and set aside, and the agent starts,
// registers and runs new assignments. Real agent (startAgent), real helpers, against FakeServer.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { test } from "node:test";
import { pino } from "pino";
import { helperConfig } from "./config.ts";
import { startAgent } from "./main.ts";
import type { AgentHandle } from "./main.ts";
import { FakeServer, killAttempts, sleeperCommand, testAssignment, testSpec, waitFor } from "./test-fixtures.ts";

void test("corrupt attempt.json, assignment.json or status.json: logged, set aside, the agent starts and runs new work", async (t) => {
  const server = new FakeServer();
  await server.up();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-agent-"));
  let agent: AgentHandle | null = null;
  t.after(async () => {
    await agent?.close("leave-tasks");
    killAttempts(dataDir);
    await server.down();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const spec = testSpec({ command: sleeperCommand() });
  const good = (id: string, index: number) => {
    const a = testAssignment(id, spec, { index });
    return { a: JSON.stringify(a), c: JSON.stringify(helperConfig(a, { ports: {}, hostName: "box-1", fenceMs: 2000, agentEnv: {} })) };
  };
  const leave = (id: string, index: number, files: { attempt?: string; assignment?: string; status?: string }) => {
    const dir = path.join(dataDir, "attempts", id);
    fs.mkdirSync(dir, { recursive: true });
    const g = good(id, index);
    fs.writeFileSync(path.join(dir, "attempt.json"), files.attempt ?? g.c);
    fs.writeFileSync(path.join(dir, "assignment.json"), files.assignment ?? g.a);
    if (files.status !== undefined) fs.writeFileSync(path.join(dir, "status.json"), files.status);
  };
  const kinds: Record<string, string> = {
    empty: "",
    braces: "{}",
    truncated: good("x", 0).a.slice(0, 40),
    types: JSON.stringify({ attempt: { id: 7, job: null, index: "0" }, spec: { disconnect: "never", stop: {} } }),
  };
  let i = 0;
  for (const [kind, text] of Object.entries(kinds)) {
    leave(`att-assignment-${kind}`, i++, { assignment: text });
    leave(`att-config-${kind}`, i++, { attempt: kind === "types" ? JSON.stringify({ job: 1, index: -1, ports: "x", stop: null }) : text });
    leave(`att-status-${kind}`, i++, { status: kind === "types" ? JSON.stringify({ attemptId: 1, state: "dancing", helperPid: "x" }) : text });
  }

  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), cb()) });
  agent = await startAgent({ server: server.url, joinToken: server.joinToken, dataDir, name: "box-1", labels: {}, log: pino({ level: "info" }, sink) });
  assert.ok(server.log.registers.length >= 1, "registered");

  // A new assignment still runs.
  const fresh = testAssignment("att-new", spec, { index: 99 });
  server.assign([fresh]);
  await waitFor("new attempt running", () => server.updatesOf("att-new").find((u) => u.state === "running"));

  for (const kind of Object.keys(kinds)) {
    // attempt.json unusable: the directory is set aside, said so, and the attempt reported failed.
    const id = `att-config-${kind}`;
    const u = await waitFor(`${id} reported`, () => server.updatesOf(id)[0]);
    assert.equal(u.state, "failed");
    assert.match(u.reason ?? "", /could not read the attempt back: .*attempt\.json/);
    const said = lines.find((l) => l["attemptId"] === id && l["msg"] === "skipping attempt directory: its files are unusable");
    assert.ok(said, `the agent says it skipped ${id}`);
    // assignment.json or status.json unusable: adopted with what is left (its helper is dead: failed).
    for (const other of [`att-assignment-${kind}`, `att-status-${kind}`]) {
      const o = await waitFor(`${other} reported`, () => server.updatesOf(other)[0]);
      assert.equal(o.state, "failed");
      assert.ok(lines.some((l) => l["attemptId"] === other && Array.isArray(l["problems"])), `the agent says what was wrong in ${other}`);
    }
  }
  // Nothing was ever started from a bad directory.
  assert.equal(server.log.updates.filter((u) => u.id !== "att-new" && u.pid !== null).length, 0);
  assert.equal(server.log.updates.filter((u) => u.id !== "att-new" && (u.state === "running" || u.state === "starting")).length, 0);
});
