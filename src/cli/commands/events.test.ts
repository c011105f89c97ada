// `tiffin events` through bin/tiffin.js as processes against a real server (SQLite in a temp dir):
// the recent changes of an apply and a scale, --kind, --json, and -f printing a change as it
// happens until SIGINT.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { cliWithServer } from "../real-cli.ts";

const bin = path.join(import.meta.dirname, "..", "..", "..", "bin", "tiffin.js");

void test("tiffin events shows recent changes, filters by kind, and follows", async (t) => {
  const { root, server, run } = await cliWithServer(t, "events", { TIFFIN_USER: "ana" });
  const env = { PATH: process.env["PATH"] ?? "", HOME: root, TIFFIN_ADDR: server.url, TIFFIN_TOKEN: server.adminToken, TIFFIN_USER: "ana" };
  assert.equal((await run("events")).out, "no changes in the recent revisions\n");
  fs.writeFileSync(path.join(root, "web.json"), JSON.stringify({ name: "web", command: ["web"], replicas: 1, isolation: "none" }));
  assert.equal((await run("apply", "web.json", "--no-wait", "-m", "first")).code, 0);
  assert.equal((await run("scale", "web", "2", "--no-wait")).code, 0);

  const all = await run("events");
  assert.equal(all.code, 0, all.err);
  assert.match(all.out, /^\d+ +version +added +web\/1 +by ana "first"$/m);
  assert.match(all.out, /^\d+ +version +added +web\/2 +by ana "scale to 2"$/m);
  assert.match(all.out, /^\d+ +job +updated +web +version 2$/m);
  assert.match(all.out, /^\d+ +task +added +web\/1 +v2 unplaced/m);
  const revisions = all.out.trim().split("\n").map((l) => Number(l.split(/\s+/)[0]));
  assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b), "in revision order");

  const jobsOnly = await run("events", "--kind", "job", "--json");
  const kinds = jobsOnly.out.trim().split("\n").map((l) => (JSON.parse(l) as { kind: string }).kind);
  assert.ok(kinds.length >= 2 && kinds.every((k) => k === "job"), jobsOnly.out);
  // A filter without --kind: the kinds it applies to (every kind would be refused by the server).
  const byJob = await run("events", "--job", "web");
  assert.equal(byJob.code, 0, byJob.err);
  assert.match(byJob.out, /^\d+ +version +added +web\/1 /m);
  assert.doesNotMatch(byJob.out, / host /);
  const byHost = await run("events", "--host", "nowhere", "--json");
  assert.equal(byHost.code, 0, byHost.err);
  assert.equal(byHost.out, "", "no object is on a host that does not exist");
  const bad = await run("events", "--kind", "pods");
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^error\[TIFFIN_USAGE\]: unknown event kind "pods"\nhint: use --kind with some of: job, version/);

  // -f: nothing recent asked for, then the next change shows as it happens; Ctrl-C ends it with 0.
  const follow = spawn(process.execPath, [bin, "events", "-f", "--since", "0", "--kind", "job"], { cwd: root, env });
  let out = "";
  follow.stdout.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => follow.on("exit", (code) => resolve(code)));
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await run("scale", "web", "3", "--no-wait")).code, 0);
  const deadline = Date.now() + 15_000;
  while (!/job +updated +web +version 3/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.match(out, /job +updated +web +version 3/);
  assert.doesNotMatch(out, /version 2/, "--since 0: nothing from before");
  follow.kill("SIGINT");
  assert.equal(await exited, 0);
});
