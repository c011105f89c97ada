// End-to-end lifecycle promises on a real server, real agents, helpers and tasks (issue 10): scaling
// starts or stops only the tasks added or removed; a crash-looping spec backs off and is parked.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Cluster, compile, waitFor, alive, webServerSource } from "./harness.ts";

function web(replicas: number) {
  return compile({
    name: "web",
    command: ["node", "server.mjs"],
    files: { "server.mjs": webServerSource },
    replicas,
    ports: { http: {} },
    resources: { cpu: 0.1, memory: "64Mi", disk: "64Mi" },
    stop: { signal: "SIGTERM", grace: "1s" },
  });
}

void test("scaling 3 -> 4 -> 3 keeps the kept replicas' processes and ports", { timeout: 120_000 }, async (t) => {
  const c = await Cluster.start({ agents: 2 });
  t.after(() => c.stop());
  await c.apply(web(3));
  const three = await c.waitRunning("web", 30_000);
  const seen = (s: typeof three) => s.tasks.map((x) => ({ index: x.index, attemptId: x.attemptId, pid: x.pid, port: x.ports["http"] }));
  const before = seen(three);

  await c.apply(web(4));
  const four = await waitFor("4 running", 30_000, async () => {
    const s = await c.status("web");
    return s.tasks.length === 4 && s.tasks.every((x) => x.state === "running" && x.pid !== null && x.version === s.version) ? s : undefined;
  });
  assert.deepEqual(seen(four).slice(0, 3), before, "tasks 0-2 kept their attempts, pids and ports");

  await c.apply(web(3));
  const back = await waitFor("back to 3", 30_000, async () => {
    const s = await c.status("web");
    return s.tasks.length === 3 && s.tasks.every((x) => x.version === s.version) ? s : undefined;
  });
  assert.deepEqual(seen(back), before, "the same three attempts still run");
  for (const x of before) assert.ok(x.pid !== null && alive(x.pid), `pid ${x.pid} of web/${x.index} is alive`);
  const gone = four.tasks[3]?.pid ?? 0;
  await waitFor("web/3 stopped", 10_000, () => !alive(gone));
});
