// Tiffin as one executable (Node's single executable applications, built by packaging/sea/build.ts):
// there is no file beside it to start a worker thread or a helper from, so the build embeds each
// worker thread's bundle as an asset, and helpers run the executable itself (`tiffin helper DIR`).
import sea from "node:sea";
import type { WorkerOptions } from "node:worker_threads";

/** True when this process is the single executable, not Node running files. */
export function inSingleExecutable(): boolean {
  return sea.isSea();
}

/** The asset name of a worker thread's bundle in the single executable: `grep-worker.ts` → `grep-worker.cjs`. */
export function workerAssetName(relative: string): string {
  const base = relative.slice(relative.lastIndexOf("/") + 1);
  return base.replace(/\.[mc]?[jt]s$/, ".cjs");
}

/**
 * What `new Worker` takes for the worker module at `file` (a URL from moduleFile): the file itself, or
 * in the single executable the embedded bundle of it, run as code (eval).
 */
export function workerEntry(file: URL, options: WorkerOptions): [URL | string, WorkerOptions] {
  if (!inSingleExecutable()) return [file, options];
  return [sea.getAsset(workerAssetName(file.pathname), "utf8"), { ...options, eval: true }];
}
