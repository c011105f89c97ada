// Namespaces through the real `tiffin` process (bin/tiffin.js) against a real server: -n, -A and
// -n '*', a spec's own namespace, a spec contradicting -n, and the context remembering a namespace
// (`context add --namespace`, `context set-namespace`).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { cliWithServer } from "../real-cli.ts";

void test("tiffin -n, -A and the context's namespace: same-named jobs of two namespaces, each command in its own", async (t) => {
  const { root, server, run } = await cliWithServer(t, "ns");
  const job = { name: "web", command: ["web"], resources: { memory: "64Mi" }, isolation: "none" };
  fs.writeFileSync(path.join(root, "web.json"), JSON.stringify(job));
  fs.writeFileSync(path.join(root, "web-a.json"), JSON.stringify({ ...job, namespace: "team-a" }));
  let r = await run("apply", "web.json", "--no-wait");
  assert.deepEqual([r.code, r.out], [0, "job web: version 1 applied\n"], r.err);
  r = await run("apply", "-n", "team-a", "web.json", "--no-wait", "--json");
  assert.equal(r.code, 0, r.err);
  assert.deepEqual((JSON.parse(r.out) as { namespace: string; name: string; version: number }[]).map((x) => [x.namespace, x.name, x.version]), [["team-a", "web", 1]]);
  // The spec's own namespace, without -n: the same job, unchanged.
  r = await run("apply", "web-a.json", "--no-wait");
  assert.deepEqual([r.code, r.out], [0, "job web: unchanged at version 1\n"], r.err);
  r = await run("apply", "--namespace", "team-b", "web-a.json", "--no-wait");
  assert.equal(r.code, 2);
  assert.match(r.err, /^error\[TIFFIN_USAGE\]: web-a\.json says namespace "team-a", but this command acts in namespace "team-b"\nhint: run it with -n team-a/);

  r = await run("jobs");
  assert.match(r.out, /^NAME +VERSION/);
  assert.equal(r.out.split("\n").filter((l) => l.startsWith("web")).length, 1, r.out);
  for (const all of [["-A"], ["-n", "*"]]) {
    r = await run("jobs", ...all);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^NAMESPACE +NAME +VERSION/, all.join(" "));
    assert.deepEqual(r.out.trim().split("\n").slice(1).map((l) => l.split(/ +/).slice(0, 2)).sort(), [["default", "web"], ["team-a", "web"]]);
  }
  r = await run("status", "-n", "team-a", "web", "--json");
  assert.deepEqual(JSON.parse(r.out) as unknown, { ...(JSON.parse(r.out) as object), name: "web", namespace: "team-a" });
  // What users read never shows the internal id (`web.team-a`): the name, and the namespace apart
  // (events write NS/NAME; the API's other answers: agent/namespaces-e2e.test.ts). -n before the
  // command name is the program's --namespace (as kubectl -n NS get ... takes it). Side by side.
  const shown = await Promise.all([["status", "-n", "team-a", "web"], ["events", "-n", "team-a", "--since", "50"], ["-n", "team-a", "status", "web", "--json"]].map(async (argv) => ({ argv, r: await run(...argv) })));
  for (const { argv, r: x } of shown) {
    assert.equal(x.code, 0, `${argv.join(" ")}: ${x.err}`);
    assert.ok(!`${x.out}${x.err}`.includes(".team-a"), `${argv.join(" ")} shows no id:\n${x.out}${x.err}`);
  }
  assert.match(shown[0]?.r.out ?? "", /^web\/0 /m, "status: the task as web/0");
  assert.match(shown[1]?.r.out ?? "", /task +added +team-a\/web\/0 /, "events: the task as team-a/web/0");
  assert.equal((JSON.parse(shown[2]?.r.out ?? "{}") as { namespace?: string }).namespace, "team-a", "-n before the command");

  // The context remembers a namespace; -n still wins for one command.
  fs.writeFileSync(path.join(root, "admin.token"), server.adminToken);
  r = await run("context", "add", "prod", "--server", server.url, "--token-file", "admin.token", "--namespace", "team-a", "--use");
  assert.equal(r.code, 0, r.err);
  r = await run("stop", "web");
  assert.equal(r.code, 0, r.err);
  r = await run("jobs", "-A", "--json");
  assert.deepEqual((JSON.parse(r.out) as { namespace?: string; removed: boolean }[]).map((j) => [j.namespace ?? "default", j.removed]).sort(), [["default", false], ["team-a", true]], "stop acted in the context's namespace");
  r = await run("context", "set-namespace", "default");
  assert.deepEqual([r.code, r.out], [0, "context prod now acts in namespace default\n"], r.err);
  r = await run("context", "list", "--json");
  assert.deepEqual((JSON.parse(r.out) as { name: string; namespace: string }[]).map((c) => [c.name, c.namespace]), [["prod", "default"]]);
});
