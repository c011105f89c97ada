// The install and uninstall plans as tables: which files, modes, environment lines and systemctl
// commands each case gives; and the shipped packaging/systemd units are the ones install writes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DefaultBin, envLine, installPlan, uninstallPlan, unitText } from "./service-units.ts";
import type { InstallInput } from "./service-units.ts";

const agent: InstallInput = { role: "agent", bin: "/usr/local/bin/tiffin", env: [["TIFFIN_SERVER", "http://10.0.0.1:7070"], ["TIFFIN_LABELS", "rack=r1"], ["TIFFIN_JOIN_TOKEN_FILE", "/root/join.token"]], joinToken: "secret", noStart: false };

void test("install plans", () => {
  const cases: { name: string; input: InstallInput; files: [string, number][]; dirs: string[]; after: string[][]; env: string[] }[] = [
    {
      name: "agent, started",
      input: agent,
      files: [["/etc/systemd/system/tiffin-agent.service", 0o644], ["/etc/tiffin/agent.env", 0o600], ["/etc/tiffin/join.token", 0o600]],
      dirs: ["/etc/tiffin", "/var/lib/tiffin-agent"],
      after: [["systemctl", "daemon-reload"], ["systemctl", "enable", "tiffin-agent.service"], ["systemctl", "restart", "tiffin-agent.service"]],
      env: ["TIFFIN_SERVER=http://10.0.0.1:7070", "TIFFIN_LABELS=rack=r1"],
    },
    {
      name: "agent, --no-start, --data elsewhere",
      input: { ...agent, noStart: true, data: "/srv/agent", env: [...agent.env, ["TIFFIN_DATA", "/srv/agent"]] },
      files: [["/etc/systemd/system/tiffin-agent.service", 0o644], ["/etc/tiffin/agent.env", 0o600], ["/etc/tiffin/join.token", 0o600]],
      dirs: ["/etc/tiffin", "/srv/agent"],
      after: [["systemctl", "daemon-reload"], ["systemctl", "enable", "tiffin-agent.service"]],
      env: ["TIFFIN_SERVER=http://10.0.0.1:7070", "TIFFIN_LABELS=rack=r1", "TIFFIN_DATA=/srv/agent"],
    },
    {
      name: "server under --root: enabled offline, nothing started",
      input: { role: "server", bin: "/opt/tiffin", env: [["TIFFIN_LISTEN", "0.0.0.0:7070"], ["TIFFIN_UNSANDBOXED_FALLBACK", "1"]], root: "/img", noStart: false },
      files: [["/etc/systemd/system/tiffin-server.service", 0o644], ["/etc/tiffin/server.env", 0o600]],
      dirs: ["/etc/tiffin", "/var/lib/tiffin"],
      after: [["systemctl", "--root=/img", "enable", "tiffin-server.service"]],
      env: ["TIFFIN_LISTEN=0.0.0.0:7070", "TIFFIN_UNSANDBOXED_FALLBACK=1"],
    },
  ];
  for (const c of cases) {
    const plan = installPlan(c.input);
    assert.deepEqual(plan.files.map((f) => [f.path, f.mode]), c.files, c.name);
    assert.deepEqual(plan.dirs.map((d) => d.path), c.dirs, c.name);
    assert.deepEqual(plan.after, c.after, c.name);
    assert.deepEqual(plan.before, [], c.name);
    const envText = plan.files[1]!.text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    assert.deepEqual(envText, c.env, `${c.name}: the join token is a file, never a variable`);
    assert.match(plan.files[0]!.text, new RegExp(`^ExecStart=${c.input.bin} ${c.input.role}$`, "m"), c.name);
  }
  assert.equal(installPlan(agent).files[2]!.secret, true, "the token is not printed by --dry-run");
});

void test("uninstall plans: disable first, remove unit, env and token, keep data", () => {
  assert.deepEqual(uninstallPlan("agent", undefined), {
    before: [["systemctl", "disable", "--now", "tiffin-agent.service"]],
    dirs: [],
    files: [],
    remove: ["/etc/systemd/system/tiffin-agent.service", "/etc/tiffin/agent.env", "/etc/tiffin/join.token"],
    after: [["systemctl", "daemon-reload"]],
    notes: uninstallPlan("agent", undefined).notes,
  });
  const s = uninstallPlan("server", "/img");
  assert.deepEqual(s.before, [["systemctl", "--root=/img", "disable", "tiffin-server.service"]]);
  assert.deepEqual(s.remove, ["/etc/systemd/system/tiffin-server.service", "/etc/tiffin/server.env"]);
  assert.deepEqual(s.after, []);
});

void test("environment file lines: plain values as they are, others quoted for systemd", () => {
  const cases: [string, string][] = [
    ["http://a:7070,http://b:7070", "TIFFIN_X=http://a:7070,http://b:7070"],
    ["rack=r1,region=eu", "TIFFIN_X=rack=r1,region=eu"],
    ["two words", 'TIFFIN_X="two words"'],
    ['a"b\\c$d', 'TIFFIN_X="a\\"b\\\\c\\$d"'],
    ["", "TIFFIN_X="],
  ];
  for (const [value, line] of cases) assert.equal(envLine("TIFFIN_X", value), line, value);
});

void test("packaging/systemd holds the units install writes, for /usr/local/bin/tiffin", () => {
  const dir = join(import.meta.dirname, "..", "..", "packaging", "systemd");
  for (const role of ["agent", "server"] as const) assert.equal(readFileSync(join(dir, `tiffin-${role}.service`), "utf8"), unitText(role, DefaultBin), `tiffin-${role}.service`);
});
