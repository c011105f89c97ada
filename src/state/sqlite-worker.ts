// The worker thread that owns the SQLite store's write connection (see sqlite-apply.ts). Messages
// from the store: `{ batch: WireReq[] }` answered by `{ done: BatchDone }` or `{ failed: WireError }`
// in order; `{ close: true }` closes the file and ends the thread.
import { parentPort, workerData } from "node:worker_threads";
import { SqliteWriter, wireError } from "./sqlite-apply.ts";
import type { WireReq, WriterOptions } from "./sqlite-apply.ts";

const port = parentPort;
if (!port) throw new Error("sqlite-worker.ts runs as a worker thread");
const writer = new SqliteWriter(workerData as WriterOptions);
port.on("message", (msg: { batch?: WireReq[]; close?: boolean }) => {
  if (msg.close) {
    writer.close();
    port.close();
    return;
  }
  try {
    port.postMessage({ done: writer.apply(msg.batch ?? []) });
  } catch (err) {
    port.postMessage({ failed: wireError(err) });
  }
});
