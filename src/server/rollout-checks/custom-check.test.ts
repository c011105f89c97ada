import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { ServerResponse } from "node:http";
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { CustomCheck } from "../../model/judge/index.ts";
import { runCustomCheck } from "./custom-check.ts";
import type { ExecFn } from "./custom-check.ts";

/** A local stand-in for `tiffin exec`: a real process, killed when the signal aborts. */
const spawnExec: ExecFn = (argv, { signal }) =>
  new Promise((resolve, reject) => {
    const child = spawn(argv[0] ?? "", argv.slice(1), { signal, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (b: Buffer) => (output += b.toString()));
    child.stderr.on("data", (b: Buffer) => (output += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ exitCode: code, output }));
  });

void test("runCustomCheck: HTTP checks against a real local server", async (t) => {
  const hung: ServerResponse[] = [];
  const server = createServer((req, res) => {
    if (req.url === "/ok") res.end("all good");
    else if (req.url === "/fail") res.writeHead(503).end("canary unhealthy");
    else if (req.url === "/moved") res.writeHead(302, { location: "/ok" }).end();
    else if (req.url === "/empty") res.writeHead(204).end();
    else if (req.url === "/big") res.end("x".repeat(100_000));
    else if (req.url === "/hang") hung.push(res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => {
    for (const res of hung) res.destroy();
    server.close();
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const http = (path: string, statuses: [number, number] = [200, 299], timeoutMs = 2000): CustomCheck => ({ kind: "http", url: `${base}${path}`, statuses, timeoutMs });
  const cases: [string, CustomCheck, { verdict: string; reason: string; status: number | null }][] = [
    ["200 passes", http("/ok"), { verdict: "pass", reason: "answered", status: 200 }],
    ["503 fails", http("/fail"), { verdict: "fail", reason: "answered", status: 503 }],
    ["a redirect is not followed: its status decides", http("/moved"), { verdict: "fail", reason: "answered", status: 302 }],
    ["204 in a one-status range", http("/empty", [204, 204]), { verdict: "pass", reason: "answered", status: 204 }],
    ["a server that never answers: timeout, inconclusive", http("/hang", [200, 299], 300), { verdict: "inconclusive", reason: "timeout", status: null }],
    ["nothing listening: error, inconclusive", { kind: "http", url: "http://127.0.0.1:1/", statuses: [200, 299], timeoutMs: 2000 }, { verdict: "inconclusive", reason: "error", status: null }],
  ];
  for (const [name, check, want] of cases) {
    const v = await runCustomCheck(check, { exec: spawnExec });
    assert.deepEqual({ verdict: v.verdict, reason: v.reason, status: v.status }, want, `${name}: ${v.summary}`);
  }
  const fail = await runCustomCheck(http("/fail"), { exec: spawnExec });
  assert.equal(fail.output, "canary unhealthy");
  assert.match(fail.summary, /: 503 \(not in 200-299\)$/);
  const timedOut = await runCustomCheck(http("/hang", [200, 299], 300), { exec: spawnExec });
  assert.ok(timedOut.durationMs >= 290 && timedOut.durationMs < 1500, `stopped at its timeout (${timedOut.durationMs} ms)`);
  assert.equal((await runCustomCheck(http("/big"), { exec: spawnExec })).output.length, 2000);
});

void test("runCustomCheck: command checks through the injected exec (real processes)", async () => {
  const cmd = (run: string[], timeoutMs = 5000): CustomCheck => ({ kind: "command", run, timeoutMs });
  const ok = await runCustomCheck(cmd(["/bin/sh", "-c", "echo fine; exit 0"]), { exec: spawnExec });
  assert.deepEqual({ verdict: ok.verdict, exitCode: ok.exitCode, output: ok.output }, { verdict: "pass", exitCode: 0, output: "fine\n" });
  const bad = await runCustomCheck(cmd(["/bin/sh", "-c", "echo broken >&2; exit 3"]), { exec: spawnExec });
  assert.deepEqual({ verdict: bad.verdict, reason: bad.reason, exitCode: bad.exitCode, output: bad.output }, { verdict: "fail", reason: "answered", exitCode: 3, output: "broken\n" });
  assert.equal(bad.summary, "/bin/sh -c echo broken >&2; exit 3: exit code 3");
  // A command past its timeout: inconclusive, and the process is stopped (the signal reached exec).
  const marker = `/tmp/tiffin-custom-check-${process.pid}`;
  const slow = await runCustomCheck(cmd(["/bin/sh", "-c", `sleep 2; touch ${marker}`], 200), { exec: spawnExec });
  assert.deepEqual({ verdict: slow.verdict, reason: slow.reason }, { verdict: "inconclusive", reason: "timeout" });
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(existsSync(marker), false, "the timed-out command was killed before it finished");
  const missing = await runCustomCheck(cmd(["/nonexistent/program"]), { exec: spawnExec });
  assert.deepEqual({ verdict: missing.verdict, reason: missing.reason }, { verdict: "inconclusive", reason: "error" });
  assert.match(missing.summary, /ENOENT/);
});
