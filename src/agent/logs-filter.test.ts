// `tiffin logs --grep / --since / --all-attempts` end to end: the real server (own process), a real
// agent and helpers; the task fails on purpose so it has several attempts. Plus grepLines by itself.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { JobStatus } from "../api/types.ts";
import { grepLines } from "./log-filter.ts";
import { serverAndAgent } from "./real-server.ts";
import { testSpec, waitFor } from "./test-fixtures.ts";

void test("grepLines: whole lines only, across chunk boundaries, the unterminated last line too", async () => {
  async function* chunks(): AsyncGenerator<Buffer> {
    yield Buffer.from("error: a\nok\nerr");
    yield Buffer.from("or: b\nok again\n");
    yield Buffer.from("error: c");
  }
  const out: string[] = [];
  for await (const b of grepLines(chunks(), /^error/)) out.push(b.toString());
  assert.equal(out.join(""), "error: a\nerror: b\nerror: c");
});

void test("logs through the server: --grep filters on the agent, --all-attempts reads every attempt, --since skips older ones", { timeout: 90_000 }, async (t) => {
  const { root, api } = await serverAndAgent(t, { prefix: "tiffin-logsf-", name: "logs-1" });

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
