import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentOptions, parseLabels } from "./agent.ts";
import { parseWait } from "./apply.ts";
import { parseAgents } from "./dev.ts";
import { parseVersion } from "./history.ts";
import { parseLogsArgs } from "./logs.ts";

void test("parseLabels", () => {
  assert.deepEqual(parseLabels("region=dev, rack=r1,,cluster=c1"), { region: "dev", rack: "r1", cluster: "c1" });
  assert.deepEqual(parseLabels(undefined), {});
  assert.deepEqual(parseLabels("a=b=c"), { a: "b=c" });
  assert.throws(() => parseLabels("rack"), { code: "TIFFIN_USAGE" });
  assert.throws(() => parseLabels("=x"), { code: "TIFFIN_USAGE" });
});

void test("agentOptions: join token from flag or file, resources only when given", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tiffin-agent-args-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "join.token");
  writeFileSync(file, "jt-123\n");
  const base = { server: "http://s:1", data: "rel/dir", name: "dev-1" };
  const o = agentOptions({ ...base, joinTokenFile: file, labels: "rack=r1", cores: "0.5", memory: "512", listen: "127.0.0.1:0" });
  assert.equal(o.joinToken, "jt-123");
  assert.deepEqual(o.labels, { rack: "r1" });
  assert.deepEqual(o.resources, { cores: 0.5, memoryMiB: 512 });
  assert.equal(o.listen, "127.0.0.1:0");
  assert.ok(o.dataDir.endsWith("/rel/dir") && o.dataDir.startsWith("/"));
  const plain = agentOptions({ ...base, joinToken: "flag-token" });
  assert.equal(plain.joinToken, "flag-token");
  assert.equal("resources" in plain, false);
  assert.equal("listen" in plain, false);
  assert.throws(() => agentOptions(base), { code: "TIFFIN_USAGE", message: /needs a join token/ });
  assert.throws(() => agentOptions({ ...base, joinTokenFile: join(dir, "missing") }), { code: "TIFFIN_USAGE" });
  assert.equal(agentOptions({ ...base, joinToken: "x", serviceProxy: "kernel" }).serviceProxy, "kernel");
  assert.equal("serviceProxy" in plain, false, "auto unless given");
  assert.throws(() => agentOptions({ ...base, joinToken: "x", serviceProxy: "ebpf" }), { code: "TIFFIN_USAGE", message: /--service-proxy wants auto, kernel, userspace/ });
  assert.throws(() => agentOptions({ ...base, joinToken: "x", memory: "1.5" }), { code: "TIFFIN_USAGE", message: /--memory/ });
  assert.throws(() => agentOptions({ ...base, joinToken: "x", cores: "-1" }), { code: "TIFFIN_USAGE", message: /--cores/ });
  const gc = agentOptions({ ...base, joinToken: "x", packageCacheMib: "2048", packageIdle: "1h30m" });
  assert.deepEqual([gc.packageCacheMiB, gc.packageIdleMs], [2048, 5_400_000]);
  assert.equal("packageIdleMs" in plain, false);
  assert.throws(() => agentOptions({ ...base, joinToken: "x", packageIdle: "1 hour" }), { code: "TIFFIN_USAGE", message: /--package-idle/ });
  assert.equal(agentOptions({ ...base, joinToken: "x", stateKeep: "168h" }).stateKeepMs, 604_800_000);
  assert.equal("stateKeepMs" in plain, false);
  assert.throws(() => agentOptions({ ...base, joinToken: "x", stateKeep: "7 days" }), { code: "TIFFIN_USAGE", message: /--state-keep wants a duration, got "7 days"/ });
  assert.throws(() => agentOptions({ ...base, joinToken: "x", packageCacheMib: "0" }), { code: "TIFFIN_USAGE", message: /--package-cache-mib/ });
  assert.equal(agentOptions({ ...base, joinToken: "x", maxStarts: "8" }).maxConcurrentStarts, 8);
  assert.equal("maxConcurrentStarts" in plain, false);
  for (const bad of ["0", "2.5", "many"]) assert.throws(() => agentOptions({ ...base, joinToken: "x", maxStarts: bad }), { code: "TIFFIN_USAGE", message: /--max-starts/ }, bad);
  assert.equal(agentOptions({ ...base, joinToken: "x", tasksPerHelper: "1" }).tasksPerHelper, 1);
  assert.equal("tasksPerHelper" in plain, false);
  for (const bad of ["0", "1.5"]) assert.throws(() => agentOptions({ ...base, joinToken: "x", tasksPerHelper: bad }), { code: "TIFFIN_USAGE", message: /--tasks-per-helper/ }, bad);
});

void test("agentOptions: --allow-capabilities normalized to CAP_ names, --task-user ids; unknown names and root refused", () => {
  const base = { server: "http://s", data: "/tmp/agent", name: "box", joinToken: "x" };
  const o = agentOptions({ ...base, allowCapabilities: "net_bind_service, CAP_CHOWN", taskUser: "1000:1001" });
  assert.deepEqual(o.allowCapabilities, ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"]);
  assert.deepEqual(o.taskUser, { uid: 1000, gid: 1001 });
  assert.deepEqual(agentOptions({ ...base, taskUser: "4000" }).taskUser, { uid: 4000, gid: 4000 });
  const plain = agentOptions(base);
  assert.equal("allowCapabilities" in plain || "taskUser" in plain, false);
  assert.throws(() => agentOptions({ ...base, allowCapabilities: "NET_BIND" }), { code: "TIFFIN_USAGE", message: /unknown capability "NET_BIND"/ });
  for (const bad of ["0", "0:0", "1000:0", "nobody", "70000"]) assert.throws(() => agentOptions({ ...base, taskUser: bad }), { code: "TIFFIN_USAGE", message: /--task-user/ }, bad);
});

void test("parseWait: durations, bare seconds, --no-wait, default", () => {
  const cases: [string | boolean | undefined, number | null][] = [
    [undefined, 60_000],
    [true, 60_000],
    [false, null],
    ["90s", 90_000],
    ["2m", 120_000],
    ["1m30s", 90_000],
    ["15", 15_000],
    ["500ms", 500],
  ];
  for (const [input, want] of cases) assert.equal(parseWait(input), want, String(input));
  assert.throws(() => parseWait("soon"), { code: "TIFFIN_USAGE" });
});

void test("parseLogsArgs", () => {
  const none = { since: null, grep: null, allAttempts: false };
  assert.deepEqual(parseLogsArgs("web/2", {}), { job: "web", index: 2, stream: "stdout", attempt: null, follow: false, tail: null, ...none });
  assert.deepEqual(parseLogsArgs("my-job/10", { follow: true, stderr: true, attempt: "a1", tail: "20" }), {
    job: "my-job",
    index: 10,
    stream: "stderr",
    attempt: "a1",
    follow: true,
    tail: 20,
    ...none,
  });
  const r = parseLogsArgs("web/0", { since: "1m30s", grep: "^err", allAttempts: true }, 1_000_000);
  assert.deepEqual([r.since, r.grep, r.allAttempts], [910_000, "^err", true]);
  assert.throws(() => parseLogsArgs("web/0", { since: "yesterday" }), { code: "TIFFIN_USAGE" });
  assert.throws(() => parseLogsArgs("web/0", { grep: "(" }), { code: "TIFFIN_USAGE" });
  assert.throws(() => parseLogsArgs("web/0", { allAttempts: true, attempt: "a1" }), { code: "TIFFIN_USAGE" });
  for (const bad of ["web", "web/", "/1", "web/x"]) assert.throws(() => parseLogsArgs(bad, {}), { code: "TIFFIN_USAGE" }, bad);
  assert.throws(() => parseLogsArgs("web/0", { tail: "-3" }), { code: "TIFFIN_USAGE" });
});

void test("parseVersion and parseAgents", () => {
  assert.equal(parseVersion("3"), 3);
  for (const bad of ["0", "-1", "1.5", "x"]) assert.throws(() => parseVersion(bad), { code: "TIFFIN_USAGE" }, bad);
  assert.equal(parseAgents("3"), 3);
  for (const bad of ["0", "51", "two"]) assert.throws(() => parseAgents(bad), { code: "TIFFIN_USAGE" }, bad);
});
