import assert from "node:assert/strict";
import { test } from "node:test";
import { diesWithParent, setprivHasPdeathsig, supervisedArgv } from "./supervise.ts";
import type { DeathTools } from "./supervise.ts";

const both: DeathTools = { timeout: "/usr/bin/timeout", setpriv: "/usr/bin/setpriv" };
const cmd = ["redis-server", "--port", "6380"];

void test("supervisedArgv: the init stops the group on the stop signal, also sent at its parent's death, and kills it after the grace", () => {
  const cases: [string, DeathTools, { signal: string; graceMs: number }, string[]][] = [
    ["both tools", both, { signal: "SIGTERM", graceMs: 10_000 }, ["/usr/bin/setpriv", "--pdeathsig", "TERM", "--", "/usr/bin/timeout", "-s", "SIGTERM", "-k", "10s", "0", ...cmd]],
    ["a grace under a second", both, { signal: "SIGINT", graceMs: 250 }, ["/usr/bin/setpriv", "--pdeathsig", "INT", "--", "/usr/bin/timeout", "-s", "SIGINT", "-k", "0.25s", "0", ...cmd]],
    ["no grace: -k 0 would mean never, so 1 ms", both, { signal: "SIGTERM", graceMs: 0 }, ["/usr/bin/setpriv", "--pdeathsig", "TERM", "--", "/usr/bin/timeout", "-s", "SIGTERM", "-k", "0.001s", "0", ...cmd]],
    ["stop signal SIGKILL: SIGALRM, timeout's own", both, { signal: "SIGKILL", graceMs: 1000 }, ["/usr/bin/setpriv", "--pdeathsig", "ALRM", "--", "/usr/bin/timeout", "-s", "SIGKILL", "-k", "1s", "0", ...cmd]],
    ["no setpriv: the init alone", { timeout: "/bin/timeout", setpriv: null }, { signal: "SIGTERM", graceMs: 2000 }, ["/bin/timeout", "-s", "SIGTERM", "-k", "2s", "0", ...cmd]],
    ["no timeout: the task itself dies with its parent", { timeout: null, setpriv: "/usr/bin/setpriv" }, { signal: "SIGTERM", graceMs: 2000 }, ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--", ...cmd]],
    ["neither: the command as it is", { timeout: null, setpriv: null }, { signal: "SIGTERM", graceMs: 2000 }, cmd],
  ];
  for (const [name, tools, stop, want] of cases) assert.deepEqual(supervisedArgv(tools, stop, cmd), want, name);
});

void test("supervisedArgv with runAs: setpriv changes the ids, then sets the death signal (a change of ids clears it)", () => {
  const ids = ["--reuid", "65534", "--regid", "65534", "--clear-groups"];
  const cases: [string, DeathTools, string[]][] = [
    ["both tools", both, ["/usr/bin/setpriv", ...ids, "--pdeathsig", "TERM", "--", "/usr/bin/timeout", "-s", "SIGTERM", "-k", "1s", "0", ...cmd]],
    ["no timeout", { timeout: null, setpriv: "/usr/bin/setpriv" }, ["/usr/bin/setpriv", ...ids, "--pdeathsig", "KILL", "--", ...cmd]],
  ];
  for (const [name, tools, want] of cases) assert.deepEqual(supervisedArgv(tools, { signal: "SIGTERM", graceMs: 1000 }, cmd, { uid: 65534, gid: 65534 }), want, name);
});

void test("diesWithParent: SIGKILL on the parent's death, when setpriv is there", () => {
  assert.deepEqual(diesWithParent(both, ["crun", "run", "x"]), ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--", "crun", "run", "x"]);
  assert.deepEqual(diesWithParent({ timeout: null, setpriv: null }, ["crun", "run", "x"]), ["crun", "run", "x"]);
});

void test("setprivHasPdeathsig: util-linux 2.33 and later", () => {
  const cases: [string, boolean][] = [
    ["setpriv from util-linux 2.38.1", true],
    ["setpriv from util-linux 2.33", true],
    ["setpriv from util-linux 2.32.1", false],
    ["setpriv from util-linux 3.0", true],
    ["something else", false],
  ];
  for (const [text, want] of cases) assert.equal(setprivHasPdeathsig(text), want, text);
});
