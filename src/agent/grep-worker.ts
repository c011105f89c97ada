// The thread that runs a user's `--grep` pattern (log-filter.ts). A JavaScript regular expression
// can backtrack for minutes on one line, so it never runs on the agent's main thread: heartbeats,
// assignments and every other request live there. Messages: a batch of lines joined by "\n" in,
// the matching ones out; the main thread terminates this thread when a batch runs over its budget.
import { parentPort, workerData } from "node:worker_threads";

const re = new RegExp((workerData as { pattern: string }).pattern);
parentPort?.on("message", (text: string) => {
  parentPort?.postMessage(text.split("\n").filter((l) => re.test(l)));
});
