// The interactive `tiffin exec` end to end: the real server (own process), a real agent, helpers and
// sandboxed tasks (crun or runc), the session protocol of src/api/exec-wire.ts, and at the end the CLI
// itself on a real terminal (util-linux `script` gives it one). Needs root, like exec.test.ts.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { NodeApiClient as ApiClient } from "../api/node-client.ts";
import type { ExecSessionRequest } from "../api/exec-wire.ts";
import type { AuditEntry, ExecFrame, JobStatus } from "../api/types.ts";
import { serverAndAgent } from "./real-server.ts";
import { testSpec, waitFor } from "./test-fixtures.ts";

const bin = new URL("../../bin/tiffin.js", import.meta.url).pathname;

/** One session: `input` chunks sent (then eof unless `keepOpen`), `react` may send more on output. */
async function run(
  client: ApiClient,
  task: string,
  req: ExecSessionRequest,
  o: { input?: Buffer[]; keepOpen?: boolean; react?: (out: string, send: (f: Parameters<Awaited<ReturnType<ApiClient["execSession"]>>["send"]>[0]) => void) => void } = {},
): Promise<{ out: Buffer; err: string; last: ExecFrame | null }> {
  const [job, index] = task.split("/");
  const s = await client.execSession(job ?? "", Number(index), req);
  for (const b of o.input ?? []) {
    if (!s.send({ type: "stdin", data: b.toString("base64") })) await s.drained();
  }
  if (!o.keepOpen) s.send({ type: "eof" });
  const out: Buffer[] = [];
  let err = "";
  let last: ExecFrame | null = null;
  const timer = setTimeout(() => s.close(), 30_000);
  try {
    for await (const f of s.frames) {
      if (f.type === "stdout") {
        out.push(Buffer.from(f.data, "base64"));
        o.react?.(Buffer.concat(out).toString(), (x) => void s.send(x));
      } else if (f.type === "stderr") err += Buffer.from(f.data, "base64").toString();
      else last = f;
    }
  } finally {
    clearTimeout(timer);
    s.close();
  }
  return { out: Buffer.concat(out), err, last };
}

void test("exec sessions: stdin reaches the command, a terminal when asked (size, resize, Ctrl-C), exit codes, signals, audit; the CLI on a real terminal", { timeout: 120_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, "this test needs root (sandboxes with cgroup limits)");
  const { agent, agentDir, api, server: s } = await serverAndAgent(t, { prefix: "tiffin-exec-session-", name: "exec-s-1" });
  for (const spec of [
    testSpec({ name: "boxed", command: ["sleep", "300"], resources: { cpu: 0.2, memoryMiB: 64, diskMiB: 1 } }),
    testSpec({ name: "plain", command: ["sleep", "300"], isolation: "none", resources: { cpu: 0.1, memoryMiB: 64, diskMiB: 1 } }),
  ]) {
    const applied = await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec }) });
    assert.equal(applied.status, 200, await applied.clone().text());
  }
  for (const name of ["boxed", "plain"]) {
    await waitFor(`${name} running`, async () => {
      const t0 = ((await (await api(`/v1/jobs/${name}`)).json()) as JobStatus).tasks[0];
      return t0 && t0.pid !== null && (t0.state === "running" || t0.state === "healthy") ? t0 : null;
    }, 45_000);
  }
  const client = new ApiClient({ addr: s.url, token: s.adminToken });

  // stdin piped to cat comes back, byte for byte (300 KB of random bytes: back-pressure both ways).
  const data = randomBytes(300_000);
  const cat = await run(client, "boxed/0", { command: ["cat"], user: "tester" }, { input: [data.subarray(0, 100_000), data.subarray(100_000)] });
  assert.deepEqual(cat.last, { type: "exit", code: 0, signal: null });
  assert.equal(createHash("sha256").update(cat.out).digest("hex"), createHash("sha256").update(data).digest("hex"), `cat returned ${cat.out.length} bytes`);
  const lines = await run(client, "boxed/0", { command: ["sh", "-c", "wc -l; tty; exit 3"] }, { input: [Buffer.from("a\nb\n")] });
  assert.deepEqual(lines.last, { type: "exit", code: 3, signal: null });
  assert.equal(lines.out.toString(), "2\nnot a tty\n", "without -t no terminal");

  // A terminal when asked: the sandbox's own /dev/pts, the size given, the exit code through.
  const tty = await run(client, "boxed/0", { command: ["sh", "-c", "tty; stty size; echo $TERM; exit 7"], tty: true, cols: 101, rows: 33, term: "xterm-test" });
  assert.deepEqual(tty.last, { type: "exit", code: 7, signal: null }, tty.out.toString() + tty.err);
  assert.match(tty.out.toString(), /^\/dev\/pts\/0\r\n33 101\r\nxterm-test\r\n$/, JSON.stringify(tty.out.toString()));
  // The size follows a resize; Ctrl-C is a key that the terminal turns into SIGINT for the command.
  let resized = false;
  const resize = await run(client, "boxed/0", { command: ["sh", "-c", "echo ready; while [ \"$(stty size)\" != '50 120' ]; do sleep 0.1; done; echo resized; sleep 60"], tty: true }, {
    keepOpen: true,
    react: (out, send) => {
      if (out.includes("ready") && !resized) {
        resized = true;
        send({ type: "resize", cols: 120, rows: 50 });
      }
      if (out.includes("resized")) send({ type: "stdin", data: Buffer.from("\x03").toString("base64") });
    },
  });
  assert.match(resize.out.toString(), /resized/);
  assert.deepEqual(resize.last, { type: "exit", code: 130, signal: null }, resize.out.toString());
  // With a terminal, ^D (what eof sends) ends input.
  const ttyCat = await run(client, "boxed/0", { command: ["cat"], tty: true }, { input: [Buffer.from("typed\n")] });
  assert.deepEqual(ttyCat.last, { type: "exit", code: 0, signal: null });
  assert.match(ttyCat.out.toString(), /typed\r\n/);

  // Without a terminal a signal frame reaches the command (through the runtime's exec).
  const trapped = await run(client, "boxed/0", { command: ["sh", "-c", "trap 'echo got INT; exit 5' INT; echo ready; while :; do sleep 0.1; done"] }, {
    keepOpen: true,
    react: (out, send) => void (out === "ready\n" && send({ type: "signal", signal: "SIGINT" })),
  });
  assert.deepEqual(trapped.last, { type: "exit", code: 5, signal: null });
  assert.equal(trapped.out.toString(), "ready\ngot INT\n");

  // Isolation none: on the host, with a terminal of the host's and stdin.
  const plainTty = await run(client, "plain/0", { command: ["sh", "-c", "tty >/dev/null && echo terminal; pwd"], tty: true });
  assert.deepEqual(plainTty.last, { type: "exit", code: 0, signal: null });
  assert.match(plainTty.out.toString(), /^terminal\r\n.*\/work\r\n$/);
  const plainCat = await run(client, "plain/0", { command: ["cat"] }, { input: [Buffer.from("plain stdin\n")] });
  assert.equal(plainCat.out.toString(), "plain stdin\n");

  // A plain task has no cgroup: its usage comes from /proc (helper/usage-proc.ts) into its status.
  const plainUsage = await waitFor("the plain task's usage", async () => {
    const t0 = ((await (await api("/v1/jobs/plain")).json()) as JobStatus).tasks[0];
    return t0?.attempts.find((a) => a.id === t0.attemptId)?.usage ?? null;
  }, 20_000);
  // pids: the task, and coreutils `timeout` above it once it has forked (helper/supervise.ts: it stops
  // the task when the helper dies); a sample taken before that fork sees only the one process.
  assert.ok(plainUsage.memoryBytes > 0 && (plainUsage.pids === 1 || plainUsage.pids === 2) && plainUsage.cpuSeconds >= 0, JSON.stringify(plainUsage));

  // Refusals keep their HTTP errors: unknown task, wrong token.
  await assert.rejects(client.execSession("nope", 0, { command: ["id"] }), { code: "TIFFIN_NOT_FOUND" });
  await assert.rejects(new ApiClient({ addr: s.url, token: "wrong" }).execSession("boxed", 0, { command: ["id"] }), { code: "TIFFIN_UNAUTHORIZED" });

  // The CLI on a real terminal (script gives it a pty): raw mode, so the ^C we type reaches the command
  // (130) instead of killing the CLI (which would end without an exit status: 255).
  const cli = spawn("script", ["-qfec", `${process.execPath} ${bin} exec boxed/0 -- sh -c 'tty; echo go; sleep 60'`, "/dev/null"], {
    env: { ...process.env, TIFFIN_ADDR: s.url, TIFFIN_TOKEN: s.adminToken, TERM: "xterm" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  t.after(() => void cli.kill("SIGKILL"));
  let cliOut = "";
  let typed = false;
  cli.stdin.on("error", () => undefined);
  cli.stdout.on("data", (b: Buffer) => {
    cliOut += b.toString();
    if (cliOut.includes("go") && !typed) {
      typed = true;
      cli.stdin.write("\x03");
    }
  });
  cli.stderr.on("data", (b: Buffer) => (cliOut += b.toString()));
  const cliCode = await new Promise<number | null>((r) => cli.once("close", (c) => r(c)));
  assert.match(cliOut, /\/dev\/pts\/0/, "the CLI asked for a terminal by itself");
  assert.equal(cliCode, 130, cliOut);

  // Every session is audited with how it ran and how it ended.
  const audit = ((await (await api("/v1/audit")).json()) as AuditEntry[]).filter((e) => e.action === "exec");
  assert.deepEqual(
    audit.map((e) => [e.command[0], e.mode, e.exitCode]),
    [
      ["cat", "stdin", 0],
      ["sh", "stdin", 3],
      ["sh", "tty", 7],
      ["sh", "tty", 130],
      ["cat", "tty", 0],
      ["sh", "stdin", 5],
      ["sh", "tty", 0],
      ["cat", "stdin", 0],
      ["sh", "tty", 130],
    ],
  );
  assert.equal(audit[0]?.user, "tester");
  assert.ok(audit.every((e) => e.hostId === agent.hostId && e.endedAt !== null));
  // The agent timed each session, to its end, under the route pattern (its /metrics, host token).
  const { hostToken } = JSON.parse(fs.readFileSync(path.join(agentDir, "agent.json"), "utf8")) as { hostToken: string };
  const prom = await (await fetch(`http://${agent.address}/metrics`, { headers: { authorization: `Bearer ${hostToken}` } })).text();
  const sessions = /^tiffin_http_request_duration_seconds_count\{method="POST",route="\/v1\/exec\/:attemptId",code="101"\} (\d+)$/m.exec(prom);
  assert.ok(sessions && Number(sessions[1]) >= audit.length, `exec sessions timed: ${sessions?.[0] ?? "none"}`);
});
