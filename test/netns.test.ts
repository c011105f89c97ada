// bench/netns.ts, the fan-out benchmark's network: two host namespaces behind rate-limited links
// carry bytes at about the rate asked for, the kernel counters see them, and every namespace is
// gone afterwards, as are those a crashed run left. Needs root (`ip netns`, `tc`): skipped otherwise.

import { execFileSync, spawnSync } from "node:child_process";
import { once } from "node:events";
import assert from "node:assert/strict";
import { test } from "node:test";
import { createNet, listNamespaces, removeLeftovers } from "../bench/netns.ts";

const base = "tfantest";
const canRun = process.getuid?.() === 0 && spawnSync("ip", ["netns", "list"]).status === 0 && spawnSync("tc", ["-V"]).status === 0;

void test("namespaces with a rate-limited link carry bytes and are all removed", { skip: canRun ? false : "needs root, ip and tc", timeout: 30_000 }, async () => {
  // A crashed run's leftover: a namespace named after a pid that no longer runs.
  const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
  const leftover = `${base}-${dead}-h1`;
  execFileSync("ip", ["netns", "add", leftover]);
  const net = await createNet({ hosts: 2, rate: "20mbit", base }).catch((err: unknown) => {
    removeLeftovers(base);
    throw err;
  });
  try {
    assert.ok(!listNamespaces().includes(leftover), "the leftover of a dead run is removed");
    assert.equal(listNamespaces().filter((n) => n.startsWith(net.prefix)).length, 4, "bridge, origin and 2 hosts");
    const [a, b] = net.hosts;
    assert.ok(a && b);
    const size = 2_500_000; // 1 s at 20 Mbit/s
    const server = net.spawn(a.ns, process.execPath, ["-e", `require("net").createServer((s) => { s.resume(); s.on("end", () => s.end()); }).listen(9000, "${a.ip}", () => console.log("up"))`], { stdio: ["ignore", "pipe", "inherit"] });
    await once(server.stdout!, "data");
    const before = await net.counters(b.ns);
    const t0 = performance.now();
    const client = net.spawn(b.ns, process.execPath, ["-e", `const s = require("net").connect(9000, "${a.ip}", () => s.end(Buffer.alloc(${size}))); s.resume(); s.on("close", () => process.exit(0));`], { stdio: "inherit" });
    const [code] = (await once(client, "exit")) as [number | null];
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(code, 0);
    const after = await net.counters(b.ns);
    assert.ok(after.tx - before.tx >= size, `host 2 sent ${after.tx - before.tx} bytes, at least ${size}`);
    // Unlimited, 2.5 MB crosses in a few ms; at 20 Mbit/s it takes about 1 s.
    assert.ok(seconds >= 0.7, `2.5 MB took ${seconds.toFixed(2)} s: the link is not rate-limited`);
  } finally {
    await net.remove();
  }
  assert.deepEqual(listNamespaces().filter((n) => n.startsWith(net.prefix)), [], "every namespace of the run is removed");
});
