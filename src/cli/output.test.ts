// `-o json|yaml|wide` on the listing commands and `tiffin audit`, through bin/tiffin.js as processes
// against a real server (SQLite file in a temp dir); the audit table's columns from a stored entry's shape.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import type { AuditEntry, ExecAuditEntry } from "../api/types.ts";
import { cliWithServer } from "./real-cli.ts";
import { renderAudit } from "./commands/audit.ts";
import { outputFormat } from "./output.ts";


void test("outputFormat: which -o and --json combinations mean what", () => {
  const cases: [string, { json?: boolean; output?: string }, string][] = [
    ["nothing: table", {}, "table"],
    ["--json", { json: true }, "json"],
    ["-o json", { output: "json" }, "json"],
    ["-o yaml", { output: "yaml" }, "yaml"],
    ["-o wide", { output: "wide" }, "wide"],
    ["--json -o json", { json: true, output: "json" }, "json"],
    ["-o xml", { output: "xml" }, 'error: unknown output format "xml"'],
    ["--json -o yaml", { json: true, output: "yaml" }, "error: --json and -o yaml ask for two formats"],
  ];
  for (const [name, opts, want] of cases) {
    let got: string;
    try {
      got = outputFormat(opts);
    } catch (err) {
      got = `error: ${(err as Error).message}`;
    }
    assert.equal(got, want, name);
  }
});

void test("jobs, status, history, hosts, context list and audit print -o json, yaml and wide", async (t) => {
  const { root, run } = await cliWithServer(t, "output");
  fs.writeFileSync(path.join(root, "web.json"), JSON.stringify({ name: "web", command: ["web"], replicas: 2, isolation: "none" }));
  assert.equal((await run("apply", "web.json", "--no-wait")).code, 0);

  const json = JSON.parse((await run("jobs", "-o", "json")).out) as { name: string; replicas: number }[];
  assert.deepEqual(json.map((j) => [j.name, j.replicas]), [["web", 2]]);
  assert.deepEqual(parse((await run("jobs", "-o", "yaml")).out), json, "yaml carries the same fields as json");
  assert.deepEqual(JSON.parse((await run("jobs", "--json")).out), json);
  assert.match((await run("jobs")).out, /^NAME +VERSION +REPLICAS +RUNNING +HEALTHY +STATUS\n/);
  assert.match((await run("jobs", "-o", "wide")).out, /^NAME +VERSION +REPLICAS +PLACED +RUNNING +HEALTHY +STATUS\nweb +1 +2 +0 +0 +0 +active\n$/);

  const status = parse((await run("status", "web", "-o", "yaml")).out) as { name: string; spec: { replicas: number } };
  assert.deepEqual([status.name, status.spec.replicas], ["web", 2]);
  const history = parse((await run("history", "web", "-o", "yaml")).out) as { version: number }[];
  assert.deepEqual(history.map((v) => v.version), [1]);
  assert.deepEqual(JSON.parse((await run("hosts", "-o", "json")).out), []);
  assert.deepEqual(parse((await run("context", "list", "-o", "yaml")).out), []);

  // The apply is audited: who, what, the outcome.
  const audited = (JSON.parse((await run("audit", "-o", "json")).out) as AuditEntry[]).map((e) => (e.action === "call" ? [e.by?.name, e.method, e.path, e.status] : e.action));
  assert.deepEqual(audited, [["admin", "POST", "/v1/jobs", 200]]);
  assert.match((await run("audit")).out, /^TIME +WHO +ACTION +WHAT +OUTCOME\n.* +admin \(admin\) +POST +\/v1\/jobs +200\n$/);
  const limit = await run("audit", "--limit", "0");
  assert.equal(limit.code, 2);
  assert.match(limit.err, /^error\[TIFFIN_USAGE\]: --limit must be a whole number from 1 to 1000, got "0"/);

  for (const argv of [["jobs", "-o", "xml"], ["status", "web", "-o", "toml"], ["hosts", "--json", "-o", "yaml"]]) {
    const r = await run(...argv);
    assert.equal(r.code, 2, argv.join(" "));
    assert.match(r.err, /^error\[TIFFIN_USAGE\]: (unknown output format|--json and -o yaml)/, argv.join(" "));
  }
});

void test("the audit table: who ran what where and how it ended; wide adds remote, mode, attempt, host", () => {
  const e: ExecAuditEntry = { id: "a1", at: Date.UTC(2026, 0, 2, 3, 4, 5), action: "exec", user: "ana", remote: "10.0.0.9", job: "web", index: 0, attemptId: "att-1", hostId: "h1", command: ["sh", "-c", "id"], mode: "tty", exitCode: 0, signal: null, error: null, endedAt: Date.UTC(2026, 0, 2, 3, 4, 9) };
  const running: ExecAuditEntry = { ...e, id: "a2", user: null, exitCode: null, endedAt: null };
  const table = renderAudit([e, running, { ...e, id: "a3", by: { id: "0123456789ab", name: "ci" } }]).split("\n");
  assert.match(table[0]!, /^TIME +WHO +ACTION +WHAT +OUTCOME$/);
  assert.match(table[1]!, /ana +exec +web\/0: sh -c id +exit 0$/);
  assert.match(table[2]!, /- +exec +web\/0: sh -c id +running$/);
  assert.match(table[3]!, /ci \(0123456789ab\) +exec +web\/0: sh -c id +exit 0$/, "the calling token, not what the client said");
  assert.equal(renderAudit([]), "no audit entries yet (every change and every `tiffin exec` is recorded)\n");
  assert.match(renderAudit([e], true).split("\n")[1]!, /exit 0 +10\.0\.0\.9 +tty +att-1 +h1$/);
});
