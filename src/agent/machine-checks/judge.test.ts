import assert from "node:assert/strict";
import { test } from "node:test";
import { clockSkewMs, DefaultThresholds as t, firstLine, judgeClock, judgeDataDir, judgeDisk, judgeInodes, judgeMemory, judgeRuntime, judgeScript, parsePsiFullAvg10 } from "./judge.ts";
import type { Verdict } from "./judge.ts";

const fsr = (usedPct: number, inodePct = 10) => ({ bsize: 4096, blocks: 1000, bavail: 1000 - usedPct * 10, files: 1000, ffree: 1000 - inodePct * 10 });
const psi = (full: number) => `some avg10=50.00 avg60=1.00 avg300=0.00 total=1\nfull avg10=${full.toFixed(2)} avg60=0.00 avg300=0.00 total=1\n`;

const cases: { name: string; got: () => Verdict; status: Verdict["status"]; message?: RegExp }[] = [
  { name: "disk half full passes", got: () => judgeDisk("/d", fsr(50), false, t), status: "pass", message: /50% full/ },
  { name: "disk at the warn line warns", got: () => judgeDisk("/d", fsr(90), false, t), status: "warn" },
  { name: "disk at the fail line fails", got: () => judgeDisk("/d", fsr(97), false, t), status: "fail", message: /97% full/ },
  { name: "read-only fails whatever the space", got: () => judgeDisk("/d", fsr(1), true, t), status: "fail", message: /read-only/ },
  { name: "statfs failing warns", got: () => judgeDisk("/d", null, false, t), status: "warn" },
  { name: "inodes exhausted fail", got: () => judgeInodes("/d", fsr(10, 99), t), status: "fail", message: /99% of inodes/ },
  { name: "inodes fine pass", got: () => judgeInodes("/d", fsr(10, 10), t), status: "pass" },
  { name: "no inode accounting passes", got: () => judgeInodes("/d", { ...fsr(10), files: 0, ffree: 0 }, t), status: "pass" },
  { name: "no PSI passes, saying so", got: () => judgeMemory(null, t), status: "pass", message: /not measured/ },
  { name: "some pressure alone passes (full is what stalls)", got: () => judgeMemory(psi(0), t), status: "pass" },
  { name: "full pressure 15% warns", got: () => judgeMemory(psi(15), t), status: "warn" },
  { name: "full pressure 60% fails", got: () => judgeMemory(psi(60), t), status: "fail", message: /60.0%/ },
  { name: "clock unmeasured passes", got: () => judgeClock(null, 0, t), status: "pass" },
  { name: "clock 100 ms off passes", got: () => judgeClock(100, 4, t), status: "pass" },
  { name: "clock 3 s ahead fails", got: () => judgeClock(3000, 4, t), status: "fail", message: /3000 ms ahead of/ },
  { name: "clock 3 s behind fails", got: () => judgeClock(-3000, 4, t), status: "fail", message: /behind/ },
  { name: "a skew within the round trip's doubt passes", got: () => judgeClock(2100, 1000, t), status: "warn" },
  { name: "no runtime: skipped (passes)", got: () => judgeRuntime(null, null), status: "pass", message: /not checked/ },
  { name: "runtime ran", got: () => judgeRuntime("crun 1.8", null), status: "pass" },
  { name: "runtime failing fails", got: () => judgeRuntime("crun 1.8", "exit 1"), status: "fail", message: /crun 1.8: a test container failed: exit 1/ },
  { name: "data dir writable", got: () => judgeDataDir("/d", null), status: "pass" },
  { name: "data dir not writable", got: () => judgeDataDir("/d", "EACCES: denied"), status: "fail", message: /EACCES/ },
  { name: "script exit 0 passes with its line", got: () => judgeScript("s", { exitCode: 0, timedOut: false, line: "all good" }, 100), status: "pass", message: /^all good$/ },
  { name: "script exit 1 warns", got: () => judgeScript("s", { exitCode: 1, timedOut: false, line: "" }, 100), status: "warn", message: /exit 1/ },
  { name: "script exit 2 fails", got: () => judgeScript("s", { exitCode: 2, timedOut: false, line: "ecc errors" }, 100), status: "fail" },
  { name: "script exit 3 (unknown) fails", got: () => judgeScript("s", { exitCode: 3, timedOut: false, line: "" }, 100), status: "fail" },
  { name: "script timing out fails", got: () => judgeScript("s", { exitCode: null, timedOut: true, line: "" }, 100), status: "fail", message: /timed out after 100 ms/ },
  { name: "script that cannot start fails", got: () => judgeScript("s", { exitCode: null, timedOut: false, line: "", spawnError: "EACCES" }, 100), status: "fail", message: /cannot run/ },
];

for (const c of cases) {
  void test(c.name, () => {
    const v = c.got();
    assert.equal(v.status, c.status, v.message);
    if (c.message) assert.match(v.message, c.message);
  });
}

void test("PSI parsing, skew and first lines", () => {
  assert.equal(parsePsiFullAvg10(psi(12.5)), 12.5);
  assert.equal(parsePsiFullAvg10("some avg10=1.00 avg60=0 avg300=0 total=0\n"), null);
  // Sent at 1000, back at 1010, server said 500 (as of 1005): the agent is 505 ms ahead.
  assert.equal(clockSkewMs(1000, 1010, 500), 505);
  assert.equal(firstLine("\n  first  \nsecond", "err"), "first");
  assert.equal(firstLine("", "from stderr\n"), "from stderr");
  assert.equal(firstLine("x".repeat(300), "").length, 200);
});
