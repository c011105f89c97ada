// `tiffin maintenance add|list|cancel` as a user runs them (the real CLI process, argv as the README
// shows) against a real server: a window planned for a rack, listed, cancelled; a rack with no host is
// refused by the server, a window that names no scope, or two, is a usage error; neither reaches the list.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MaintenanceWindow } from "../../api/index.ts";
import { createAgentClient } from "../../api/agent-client.ts";
import { cliWithServer } from "../real-cli.ts";

void test("tiffin maintenance add, list and cancel through the real CLI", async (t) => {
  const { run, server } = await cliWithServer(t, "maintenance");
  // A window names hosts that exist: one registered in rack r12.
  const inventory = { name: "h1", address: "127.0.0.1:1", cores: 4, memoryMiB: 4096, diskMiB: 10_000, os: { id: "debian", version: "12" }, kernel: "6.1.0", labels: { rack: "r12" }, runtime: "crun (simulated)" };
  assert.ok((await createAgentClient(server.url).register(server.joinToken, { inventory })).ok, "h1 registered");
  const unknown = await run("maintenance", "add", "--rack", "r99", "--duration", "1h", "--reason", "x");
  assert.equal(unknown.code, 1, unknown.out);
  assert.match(unknown.err, /no registered host is in rack "r99"/);
  const added = await run("maintenance", "add", "--rack", "r12", "--start", "+1h", "--duration", "2h", "--reason", "PDU swap");
  assert.equal(added.code, 0, added.err);
  const id = /^maintenance (\S+) planned: rack r12 from .* for 2h(?:00m)? \(PDU swap\)$/m.exec(added.out)?.[1];
  assert.ok(id, added.out);

  const listed = await run("maintenance", "list", "--json");
  assert.equal(listed.code, 0, listed.err);
  const ws = JSON.parse(listed.out) as MaintenanceWindow[];
  assert.deepEqual(ws.map((w) => [w.id, w.scope, w.target, w.durationMs, w.reason, w.cancelledAt]), [[id, "rack", "r12", 7_200_000, "PDU swap", null]]);
  assert.ok(Math.abs(ws[0]!.start - (Date.now() + 3_600_000)) < 60_000, `starts in an hour: ${ws[0]!.start}`);
  assert.match((await run("maintenance", "list")).out, new RegExp(`${id}.*rack.*r12`));

  const cancelled = await run("maintenance", "cancel", id);
  assert.equal(cancelled.code, 0, cancelled.err);
  assert.match(cancelled.out, new RegExp(`^maintenance ${id} of rack r12 cancelled$`, "m"));
  assert.notEqual((JSON.parse((await run("maintenance", "list", "--json")).out) as MaintenanceWindow[])[0]?.cancelledAt, null);

  for (const argv of [["--duration", "1h", "--reason", "x"], ["--rack", "r1", "--host", "h1", "--duration", "1h", "--reason", "x"]]) {
    const bad = await run("maintenance", "add", ...argv);
    assert.equal(bad.code, 2, `${argv.join(" ")}: ${bad.out}${bad.err}`);
    assert.doesNotMatch(bad.err, /\n\s+at /, "a usage error, not a stack trace");
  }
  assert.equal((JSON.parse((await run("maintenance", "list", "--json")).out) as MaintenanceWindow[]).length, 1, "refused adds reached nothing");

  // A window that ends while its host is not back (h1 never heartbeats: not up) overruns: the leader
  // records it (the watch's event) and the list says so.
  const short = await run("maintenance", "add", "--host", "h1", "--start", "now", "--duration", "1s", "--reason", "reboot");
  assert.equal(short.code, 0, short.err);
  const shortId = /^maintenance (\S+) planned/m.exec(short.out)?.[1] ?? "";
  const api = async (): Promise<MaintenanceWindow | undefined> => ((await (await fetch(`${server.url}/v1/maintenance`, { headers: { authorization: `Bearer ${server.adminToken}` } })).json()) as MaintenanceWindow[]).find((w) => w.id === shortId);
  const until = Date.now() + 10_000;
  let w = await api();
  while (!w?.overrun && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    w = await api();
  }
  assert.deepEqual(w?.overrun?.hosts, ["h1"], JSON.stringify(w));
  assert.ok(w.overrun.at >= w.start + w.durationMs, "recorded after the end");
  assert.match((await run("maintenance", "list")).out, new RegExp(`${shortId}.*OVERRUN for \\d+s: h1 not back`));
});
