import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRestartTarget, renderRestart } from "./restart.ts";

void test("parseRestartTarget: JOB or JOB/INDEX, anything else is a usage error", () => {
  assert.deepEqual(parseRestartTarget("web"), { job: "web", index: null });
  assert.deepEqual(parseRestartTarget("web/12"), { job: "web", index: 12 });
  for (const bad of ["", "web/", "web/x", "/0", "a/b/1"]) assert.throws(() => parseRestartTarget(bad), /TIFFIN_USAGE|neither a job nor a task/, bad);
});

void test("renderRestart: a line per task, or why nothing happened", () => {
  assert.equal(renderRestart({ name: "web", tasks: [{ index: 0, action: "unparked" }, { index: 1, action: "restarted" }] }), "web/0: was parked, placed again with a clean failure count\nweb/1: restarting\n");
  assert.equal(renderRestart({ name: "web", tasks: [] }), "job web: nothing to restart (no task runs or is parked)\n");
  assert.match(renderRestart({ name: "web", tasks: [{ index: 0, action: "restarted" }, { index: 1, action: "restarted" }] }), /rolling restart of web: phase by phase.*tiffin rollout status web/);
});
