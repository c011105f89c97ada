// `tiffin logs --grep / --since / --all-attempts` end to end: the real server (own process), a real
// agent and helpers; the task fails on purpose so it has several attempts. Plus grepLines by itself.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { JobStatus } from "../api/types.ts";
import { DefaultGrepBudgetMs, GrepBudgetExceeded, grepLines, LineMatcher, MaxGrepThreads } from "./log-filter.ts";
import { serverAndAgent } from "./real-server.ts";
import { testSpec, waitFor } from "./test-fixtures.ts";

void test("grepLines: whole lines only, across chunk boundaries, the unterminated last line too", async () => {
  async function* chunks(): AsyncGenerator<Buffer> {
    yield Buffer.from("error: a\nok\nerr");
    yield Buffer.from("or: b\nok again\n");
    yield Buffer.from("error: c");
  }
  const matcher = LineMatcher.open("^error")!;
  const out: string[] = [];
  try {
    for await (const b of grepLines(chunks(), matcher)) out.push(b.toString());
  } finally {
    await matcher.close();
  }
  assert.equal(out.join(""), "error: a\nerror: b\nerror: c");
});

void test("LineMatcher: matches in its own thread; a batch past the budget ends it with GrepBudgetExceeded; threads are capped", async () => {
  const m = LineMatcher.open("^(x|ok)$", 1000)!;
  assert.deepEqual(await m.match("ok\nno\n\nx"), ["ok", "x"]);
  await m.close();

  const slow = LineMatcher.open("^a{23}(a+)+b", 300)!;
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  const started = Date.now();
  const err = await slow.match("a".repeat(60)).then(() => null, (e: unknown) => e);
  clearInterval(ticker);
  assert.ok(err instanceof GrepBudgetExceeded, String(err));
  assert.match(err.message, /took over 0\.3 s/);
  // The budget (300 ms) + 1 s for the thread's start and end on a loaded machine; the match runs minutes.
  assert.ok(Date.now() - started <= 300 + 1000, `stopped ${Date.now() - started} ms after the start, not at the 300 ms budget`);
  assert.ok(ticks >= 10, `this thread kept running meanwhile (${ticks} ticks of 10 ms)`);
  await assert.rejects(slow.match("a"), /after close/);

  const held = Array.from({ length: MaxGrepThreads }, () => LineMatcher.open("a"));
  assert.ok(held.every((h) => h !== null));
  assert.equal(LineMatcher.open("a"), null, "one over the cap is refused");
  await Promise.all(held.map((h) => h!.close()));
  const again = LineMatcher.open("a");
  assert.ok(again !== null, "closing frees the slots");
  await again.close();
});

void test("logs through the server: --grep filters on the agent, --all-attempts reads every attempt, --since skips older ones", { timeout: 90_000 }, async (t) => {
  const sa = await serverAndAgent(t, { prefix: "tiffin-logsf-", name: "logs-1" });
  const api = sa.api;
  // Where the attempts count: the task (isolation "none") runs as nobody, so it is open to it.
  const root = path.join(sa.root, "shared");
  fs.mkdirSync(root, { mode: 0o777 });
  fs.chmodSync(root, 0o777);

  const spec = testSpec({
    name: "flaky",
    // Fails twice, then stays up: three attempts, the newest running.
    command: ["sh", "-c", `n=$(cat ${root}/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${root}/count; echo start; echo 'error: boom'; echo done; [ $n -ge 3 ] && exec sleep 300; exit 1`],
    isolation: "none",
    restart: { backoffInitialMs: 200, backoffMaxMs: 500, moveAfterFailures: 100 },
  });
  assert.equal((await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec }) })).status, 200);
  const attempts = await waitFor("two failed attempts and a running one", async () => {
    const st = (await (await api("/v1/jobs/flaky")).json()) as JobStatus;
    const list = st.tasks[0]?.attempts ?? [];
    return list.length === 3 && list.filter((a) => a.endedAt !== null && a.exitCode === 1).length === 2 && st.tasks[0]?.state === "running" ? list : null;
  }, 45_000);
  // The running attempt has written its lines once its log is flushed (every 250 ms).
  await waitFor("the running attempt's lines", async () => (await (await api("/v1/tasks/flaky/0/logs")).text()).includes("done"));
  const read = async (q: string): Promise<string> => {
    const r = await api(`/v1/tasks/flaky/0/logs?${q}`);
    const text = await r.text();
    assert.equal(r.status, 200, text);
    return text;
  };

  const grep = await read("grep=%5Eerror");
  assert.equal(grep, "error: boom\n", "only the matching line of the latest attempt");

  const all = await read("all=1");
  const headers = all.split("\n").filter((l) => l.startsWith("==> attempt "));
  assert.equal(headers.length, 3, all);
  const oldest = [...attempts].sort((a, b) => a.createdAt - b.createdAt)[0]!;
  assert.match(headers[0]!, new RegExp(`^==> attempt ${oldest.id} \\(${oldest.state}, started `));
  for (const part of all.split(/^==> .*<==\n/m).slice(1)) assert.equal(part, "start\nerror: boom\ndone\n");
  const allGrep = await read("all=1&grep=boom");
  assert.equal(allGrep.split("\n").filter((l) => l === "error: boom").length, headers.length);
  assert.ok(!allGrep.includes("start\n"));

  // --since: attempts that ended before it are left out; segments written before it are skipped.
  const cut = oldest.endedAt! + 1;
  const since = await read(`all=1&since=${cut}`);
  assert.ok(!since.includes(oldest.id), "the oldest attempt ended before --since");
  assert.ok(since.split("\n").filter((l) => l.startsWith("==> attempt ")).length < headers.length);
  assert.equal(await read(`since=${Date.now() + 60_000}`), "", "nothing was written after a time still to come");
  assert.equal((await api("/v1/tasks/flaky/0/logs?grep=(")).status, 400, "a bad pattern is refused");
});

void test("a catastrophic --grep pattern does not stall the agent: heartbeats and other reads go on, the grep stops at its time budget", { timeout: 120_000 }, async (t) => {
  const { api } = await serverAndAgent(t, { prefix: "tiffin-logs-redos-", name: "redos-1" });
  // One line of 51 "a"s: `^a{23}(a+)+b` backtracks through some 2^28 ways to split it before failing
  // (issue 10 item 4: 52 froze an agent 3.4 s and every task on the host was fenced).
  const spec = testSpec({ name: "redos", command: ["sh", "-c", `echo ${"a".repeat(51)}; echo ok; exec sleep 300`], isolation: "none" });
  assert.equal((await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec }) })).status, 200);
  await waitFor("the task's lines", async () => (await (await api("/v1/tasks/redos/0/logs")).text()).includes("ok"), 45_000);
  assert.equal(await (await api("/v1/tasks/redos/0/logs?grep=%5Eo")).text(), "ok\n", "an ordinary pattern still filters");

  // This process runs the agent: the longest gap between timer ticks is how long its event loop stalled.
  let last = Date.now();
  let worst = 0;
  const ticker = setInterval(() => {
    const now = Date.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 20);
  t.after(() => clearInterval(ticker));
  const started = Date.now();
  const slow = api(`/v1/tasks/redos/0/logs?grep=${encodeURIComponent("^a{23}(a+)+b")}`).then(async (r) => ({ status: r.status, text: await r.text(), ms: Date.now() - started }));
  // Meanwhile (the grep is well under way) another read of the same task is answered promptly.
  await new Promise((r) => setTimeout(r, 1000));
  const other = Date.now();
  assert.match(await (await api("/v1/tasks/redos/0/logs")).text(), /^a{51}\nok\n$/);
  const otherDone = Date.now();
  const otherMs = otherDone - other;
  const grep = await slow;
  clearInterval(ticker);
  const host = ((await (await api("/v1/hosts")).json()) as { name: string; status: string; lastHeartbeatAt: number | null }[]).find((h) => h.name === "redos-1");
  t.diagnostic(`grep answered in ${grep.ms} ms, other read in ${otherMs} ms, worst event-loop gap ${worst} ms`);

  assert.ok(worst < 1000, `the agent's event loop stalled ${worst} ms`);
  // Answered while the grep still ran (a read queued behind it would end after it, about a budget after
  // the grep began, so a bound on its own duration would not tell).
  assert.ok(otherDone < started + grep.ms, `another read ended ${otherDone - started} ms after the grep began, the grep at ${grep.ms} ms: it waited for the grep`);
  assert.equal(host?.status, "up", "the host never missed its heartbeats");
  assert.equal(grep.status, 200);
  // The agent's budget (DefaultGrepBudgetMs), + 1.5 s to start the matcher thread and answer on a loaded
  // machine: this match alone runs several budgets long.
  assert.ok(grep.ms <= DefaultGrepBudgetMs + 1500, `the grep ended at its budget (${DefaultGrepBudgetMs} ms), not after ${grep.ms} ms`);
  assert.match(grep.text, /^\[tiffin: --grep stopped: .*took over \d+(\.\d+)? s/m, "says why it stopped");
});
