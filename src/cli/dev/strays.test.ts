import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isAlive, killStrays, liveStrays, recordedPids } from "./strays.ts";

void test("killStrays ends a helper and a task recorded in attempt dirs, and nothing else", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "tiffin-strays-"));
  const agent = join(root, "dev-1");
  const att = join(agent, "attempts", "a1");
  mkdirSync(join(att, "work"), { recursive: true });
  // A "helper" naming its attempt dir on its command line, and a "task" running inside work/.
  const helper = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", att], { detached: true, stdio: "ignore" });
  const task = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { cwd: join(att, "work"), detached: true, stdio: "ignore" });
  // An unrelated live process recorded in another attempt (a reused pid): must be left alone.
  const other = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  t.after(() => {
    for (const p of [helper, task, other]) p.kill("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  });
  const stale = join(agent, "attempts", "a0");
  mkdirSync(stale, { recursive: true });
  writeFileSync(join(stale, "helper.pid"), `${other.pid}\n`);
  writeFileSync(join(att, "helper.pid"), `${helper.pid}\n`);
  writeFileSync(join(att, "status.json"), JSON.stringify({ pid: task.pid }));
  const exited = (p: typeof helper) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : p.once("exit", r)));
  await new Promise((r) => setTimeout(r, 300)); // let both start and settle their cwd/cmdline

  assert.equal(recordedPids([agent, join(root, "missing")]).length, 3);
  assert.deepEqual(liveStrays([agent]).map((s) => s.kind).sort(), ["helper", "task"]);
  const killed = await killStrays([agent], 1000);
  assert.equal(killed.length, 2);
  await Promise.all([exited(helper), exited(task)]);
  assert.equal(isAlive(helper.pid ?? 0), false);
  assert.equal(isAlive(task.pid ?? 0), false);
  assert.equal(isAlive(other.pid ?? 0), true, "an unrelated process is not touched");
});

void test("killStrays ends a shared helper process recorded by an attempt it took over its control socket", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "tiffin-strays-"));
  const agent = join(root, "dev-1");
  const [first, later] = [join(agent, "attempts", "a1"), join(agent, "attempts", "a2")];
  for (const d of [first, later]) mkdirSync(d, { recursive: true });
  // As the agent starts one (helper-pool.ts): only its first attempt is on its command line.
  const shared = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", "--", "--pool", join(agent, "helper", "pool-x.sock"), "--max", "8", first], { detached: true, stdio: "ignore" });
  t.after(() => {
    shared.kill("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  });
  writeFileSync(join(later, "helper.pid"), `${shared.pid}\n`);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(liveStrays([agent]).map((s) => [s.kind, s.attemptDir]), [["helper", later]]);
  await killStrays([agent], 1000);
  await new Promise((r) => (shared.exitCode !== null || shared.signalCode !== null ? r(null) : shared.once("exit", r)));
  assert.equal(isAlive(shared.pid ?? 0), false);
});
