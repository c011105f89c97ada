import { test } from "node:test";
import assert from "node:assert/strict";
import { Command } from "commander";
import { envForEveryFlag, envName } from "./env-flags.ts";
import { parseLogLevel } from "./log-level.ts";

void test("envName: a long flag's TIFFIN_ variable", () => {
  const cases: [string, string][] = [
    ["--server", "TIFFIN_SERVER"],
    ["--listen", "TIFFIN_LISTEN"],
    ["--join-token-file", "TIFFIN_JOIN_TOKEN_FILE"],
    ["--package-cache-mib", "TIFFIN_PACKAGE_CACHE_MIB"],
  ];
  for (const [flag, want] of cases) assert.equal(envName(flag), want, flag);
});

void test("envForEveryFlag: the environment fills what the command line leaves out; a flag wins; defaults last", () => {
  const cases: { name: string; argv: string[]; env: Record<string, string>; want: Record<string, unknown> }[] = [
    { name: "nothing set: the default", argv: [], env: {}, want: { listen: "0.0.0.0:0" } },
    { name: "env only", argv: [], env: { TIFFIN_LISTEN: "10.0.0.1:7071", TIFFIN_DATA: "/d" }, want: { listen: "10.0.0.1:7071", data: "/d" } },
    { name: "flag wins", argv: ["--listen", "1.2.3.4:5"], env: { TIFFIN_LISTEN: "10.0.0.1:7071" }, want: { listen: "1.2.3.4:5" } },
    { name: "a boolean flag from env", argv: [], env: { TIFFIN_UNSANDBOXED_FALLBACK: "1" }, want: { listen: "0.0.0.0:0", unsandboxedFallback: true } },
    // A flag like --allow-unsandboxed must not be turned on by TIFFIN_ALLOW_UNSANDBOXED=false.
    ...["0", "false", "No", "off", ""].map((v) => ({ name: `a boolean flag's variable set to "${v}": off`, argv: [], env: { TIFFIN_UNSANDBOXED_FALLBACK: v }, want: { listen: "0.0.0.0:0", unsandboxedFallback: false } })),
    { name: "the flag wins over a variable saying off", argv: ["--unsandboxed-fallback"], env: { TIFFIN_UNSANDBOXED_FALLBACK: "false" }, want: { listen: "0.0.0.0:0", unsandboxedFallback: true } },
  ];
  for (const c of cases) {
    const saved = { ...process.env };
    Object.assign(process.env, c.env);
    try {
      const cmd = new Command("agent").exitOverride().option("--listen <addr>", "", "0.0.0.0:0").option("--data <dir>", "").option("--unsandboxed-fallback", "");
      envForEveryFlag(cmd).parse(c.argv, { from: "user" });
      assert.deepEqual(cmd.opts(), c.want, c.name);
    } finally {
      for (const k of Object.keys(c.env)) if (!(k in saved)) delete process.env[k];
    }
  }
});

void test("parseLogLevel: the four levels, anything else a usage error naming the flag", () => {
  for (const l of ["debug", "info", "warn", "error"]) assert.equal(parseLogLevel(l), l);
  for (const bad of ["loud", "", "INFO", undefined]) assert.throws(() => parseLogLevel(bad), /--log-level takes debug, info, warn, error/);
});
