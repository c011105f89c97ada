// globalShortFlags by a table: -n before the command is --namespace; a command's own -n is its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { globalShortFlags } from "./global-flags.ts";

void test("globalShortFlags: -n before the command only", () => {
  const cases: [string, string[], string[]][] = [
    ["-n before the command", ["-n", "team-a", "status", "web"], ["--namespace", "team-a", "status", "web"]],
    ["-nNS before the command", ["-nteam-a", "jobs"], ["--namespace=team-a", "jobs"]],
    ["after other global options", ["--addr", "http://x:1", "-A", "-n", "team-a", "jobs"], ["--addr", "http://x:1", "-A", "--namespace", "team-a", "jobs"]],
    ["a value that looks like -n is a value", ["--token", "-n", "jobs"], ["--token", "-n", "jobs"]],
    ["exec's own -n (no stdin) stays exec's", ["exec", "-n", "web/0", "true"], ["exec", "-n", "web/0", "true"]],
    ["-n before exec is the namespace, exec's -n after it stays", ["-n", "team-a", "exec", "-n", "web/0", "true"], ["--namespace", "team-a", "exec", "-n", "web/0", "true"]],
    ["-n after the command is the command's", ["status", "-n", "team-a", "web"], ["status", "-n", "team-a", "web"]],
    ["nothing", [], []],
  ];
  for (const [name, argv, want] of cases) assert.deepEqual(globalShortFlags(argv), want, name);
});
