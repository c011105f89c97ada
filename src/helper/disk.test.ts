// The work directory's disk limit: unit checks of the walk, and a real helper stopping a task that
// writes past its limit.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { diskUsage } from "./disk.ts";
import { HelperHarness } from "./testkit.ts";

const h = new HelperHarness();
after(() => h.cleanup());

void test("diskUsage counts allocated blocks in nested dirs, not a sparse file's length, and not symlink targets", async () => {
  const dir = fs.mkdtempSync(path.join(h.root, "du-"));
  fs.mkdirSync(path.join(dir, "a", "b"), { recursive: true });
  fs.writeFileSync(path.join(dir, "a", "b", "data"), Buffer.alloc(2 * 1024 * 1024, 1));
  const sparse = fs.openSync(path.join(dir, "sparse"), "w");
  fs.ftruncateSync(sparse, 1024 * 1024 * 1024);
  fs.closeSync(sparse);
  fs.symlinkSync("/usr", path.join(dir, "usr-link"));
  const used = await diskUsage(dir);
  assert.ok(used >= 2 * 1024 * 1024 && used < 3 * 1024 * 1024, `used ${used}`);
  assert.equal(await diskUsage(path.join(dir, "missing")), 0);
});

void test("a task that writes past resources.diskMiB is stopped with a reason that says so", async () => {
  const dir = h.attempt({
    // Writes 1 MiB a tick, forever; the limit is 3 MiB.
    command: ["sh", "-c", "i=0; while true; do i=$((i+1)); head -c 1048576 /dev/zero > f$i; sleep 0.05; done"],
    diskLimitMiB: 3,
    diskCheckMs: 200,
  });
  h.start(dir);
  const agent = await h.agent(dir);
  agent.startPinging(200);
  const final = await agent.waitStatus("failed", (s) => s.state === "failed");
  assert.match(final.reason ?? "", /^disk limit exceeded: the work directory holds \d+ MiB, the limit is 3 MiB/);
});
