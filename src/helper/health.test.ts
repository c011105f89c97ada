import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { ManualClock } from "../model/index.ts";
import type { HealthCheck } from "../model/index.ts";
import { HealthMonitor, runHealthCheck } from "./health.ts";
import type { CheckResult } from "./health.ts";

const timing = { intervalMs: 1000, timeoutMs: 500, failures: 3, graceMs: 5000, action: "restart" as const };

/** Feeds `results` to a monitor on a manual clock; returns what it reported, with clock offsets. */
async function monitor(results: boolean[]): Promise<string[]> {
  const clock = new ManualClock(0);
  const events: string[] = [];
  let i = 0;
  const m = new HealthMonitor({
    check: { kind: "tcp", port: "main", ...timing },
    clock,
    run: () => {
      const ok = results[i++] ?? true;
      events.push(`check@${clock.now()}`);
      return Promise.resolve<CheckResult>({ ok, detail: ok ? "fine" : `bad ${i}` });
    },
    onState: (s, d) => events.push(`${s}@${clock.now()}: ${d}`),
    onAction: (r) => events.push(`action@${clock.now()}: ${r}`),
  });
  m.start();
  for (let t = 0; t < 12; t++) {
    clock.advance(1000);
    await new Promise((r) => setImmediate(r));
  }
  m.stop();
  return events;
}

void test("health monitor: healthy at the first pass, failures not counted inside the grace, action after `failures` in a row", async () => {
  // The first check runs 100 ms after start; each next one is scheduled an interval after the previous
  // result arrived (here: at the next whole second of the manual clock).
  const cases: [string, boolean[], string[]][] = [
    ["healthy at the first pass", [true, true], ["check@100", "healthy@1000: fine", "check@2000", "check@3000"]],
    [
      "failures inside the grace are not counted",
      [false, false, false, false, true],
      ["check@100", "check@2000", "check@3000", "check@4000", "check@5000", "healthy@5000: fine", "check@6000"],
    ],
    [
      "after the grace, three failures in a row stop it",
      [false, false, false, false, false, false, false],
      ["check@100", "check@2000", "check@3000", "check@4000", "check@5000", "check@6000", "check@7000", "unhealthy@7000: bad 7", "action@7000: health check failed: bad 7"],
    ],
    [
      "once healthy, failures count even inside the grace",
      [true, false, false, false],
      ["check@100", "healthy@1000: fine", "check@2000", "check@3000", "check@4000", "unhealthy@4000: bad 4", "action@4000: health check failed: bad 4"],
    ],
    [
      "a pass resets the count",
      [true, false, false, true, false, false, true],
      ["check@100", "healthy@1000: fine", "check@2000", "check@3000", "check@4000", "check@5000", "check@6000", "check@7000", "check@8000"],
    ],
  ];
  for (const [name, results, want] of cases) {
    const got = await monitor(results);
    // Compare the prefix up to the action (or the first events): after an action nothing more may happen.
    assert.deepEqual(got.slice(0, want.length), want, name);
    if (want.at(-1)?.startsWith("action")) assert.equal(got.length, want.length, `${name}: nothing after the action`);
  }
});

const server = http.createServer((req, res) => {
  if (req.url === "/slow") return void setTimeout(() => res.end("late"), 2000);
  res.statusCode = req.url === "/ok" ? 204 : 503;
  res.end();
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const port = (server.address() as AddressInfo).port;
after(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));

void test("real checks: http, tcp and command, passing and failing", async () => {
  const ctx = { ports: { web: port }, cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } };
  const t = { ...timing, timeoutMs: 300 };
  // Checks expected to answer get a long timeout: on a loaded machine a connect or a fork can take
  // longer than 300 ms, and only the "too slow" cases are about the timeout.
  const long = { ...timing, timeoutMs: 900 };
  const cases: [string, HealthCheck, boolean, RegExp][] = [
    ["http 2xx", { kind: "http", port: "web", path: "/ok", ...long }, true, /: 204$/],
    ["http 503", { kind: "http", port: "web", path: "bad", ...long }, false, /127\.0\.0\.1:\d+\/bad: 503$/],
    ["http too slow", { kind: "http", port: "web", path: "/slow", ...t }, false, /no answer within 300ms/],
    ["http unknown port name", { kind: "http", port: "nope", path: "/ok", ...long }, false, /unknown port "nope"/],
    ["tcp open", { kind: "tcp", port: "web", ...long }, true, /connected/],
    ["tcp closed", { kind: "tcp", port: "1", ...long }, false, /ECONNREFUSED/],
    ["command exit 0", { kind: "command", run: ["true"], ...long }, true, /exit 0/],
    ["command exit 1", { kind: "command", run: ["false"], ...long }, false, /exit 1/],
    ["command too slow", { kind: "command", run: ["sleep", "5"], ...t }, false, /no result within 300ms/],
    ["command missing", { kind: "command", run: ["/no/such/program"], ...long }, false, /ENOENT/],
  ];
  const results = await Promise.all(cases.map(([, check]) => runHealthCheck(check, ctx)));
  cases.forEach(([name, , ok, detail], i) => {
    const r = results[i];
    assert.equal(r?.ok, ok, `${name}: ${r?.detail}`);
    assert.match(r?.detail ?? "", detail, name);
  });
});
