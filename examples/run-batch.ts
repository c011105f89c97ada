// A tool on top of Tiffin's batch runs (issue 18), with the API client only: start a run of a batch
// job with parameters (idempotent on a key, so a retried script starts nothing twice), follow it
// through the typed watch, print each item as it ends, and exit 0 only if the run succeeded. The
// shape a tool like slowroll takes: Tiffin runs, retries and records the items; the tool decides.
//
//   TIFFIN_ADDR=http://127.0.0.1:7070 TIFFIN_TOKEN=... node examples/run-batch.ts JOB [KEY] [NAME=VALUE...]

import { ApiClient } from "../src/api/index.ts";
import type { Run } from "../src/api/index.ts";

const [job, key, ...pairs] = process.argv.slice(2);
if (!job) {
  console.error("usage: node examples/run-batch.ts JOB [KEY] [NAME=VALUE...]");
  process.exit(2);
}
const params = Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));
const client = new ApiClient({ addr: process.env["TIFFIN_ADDR"] ?? "http://127.0.0.1:7070", token: process.env["TIFFIN_TOKEN"] ?? "" });

const started = await client.startRun(job, { params, ...(key ? { key } : {}) });
console.log(`run ${job}/${started.id}: ${started.items.length} items`);
const seen = new Set<string>();
let last: Run = started;
for await (const m of client.watch({ kinds: ["run"], jobs: [job] })) {
  if (m.type !== "added" && m.type !== "updated") continue;
  if (m.kind !== "run" || m.object === null || m.object.id !== started.id) continue;
  // The watch carries the run's own record; its items come with GET /v1/runs/:job/:id.
  last = await client.run(job, started.id);
  for (const it of last.items) {
    const end = it.attempts.at(-1);
    const tag = `${it.index}:${it.state}`;
    if ((it.state === "succeeded" || it.state === "failed") && end && !seen.has(tag)) {
      seen.add(tag);
      console.log(`item ${it.index} ${it.state} after ${it.attempts.length} attempt(s), exit codes ${it.attempts.map((a) => a.exitCode ?? a.signal ?? a.state).join(",")}`);
    }
  }
  // Leaving the loop closes the watch.
  if (last.state === "succeeded" || last.state === "failed" || last.state === "cancelled") break;
}
console.log(`run ${job}/${last.id} ${last.state}${last.reason ? `: ${last.reason}` : ""}`);
process.exit(last.state === "succeeded" ? 0 : 1);
