// `tiffin logs --grep`: only the lines matching a pattern, filtered on the agent so a grep over a
// large log does not cross the network. Works while following: a partial line waits for its end.
//
// The pattern is the user's and JavaScript's engine backtracks: `^a{23}(a+)+b` over 52 "a"s ran
// for seconds on the main thread, heartbeats stopped and every task on the host was fenced (issue
// 10 item 4). So matching runs in a worker thread (grep-worker.ts), a batch of lines at a time, and
// a batch that runs over its time budget ends the grep: the thread is terminated mid-match and the
// reader is told why. At most MaxGrepThreads such threads run at once on a host.

import { Worker } from "node:worker_threads";
import { ErrorCodes, TiffinError } from "../model/errors.ts";
import { moduleFile } from "../model/module-file.ts";
import { workerEntry } from "../model/single-file.ts";

/** How long the matching of one batch (at most BatchChars of whole lines) may take. */
export const DefaultGrepBudgetMs = 2000;
/** Grep threads one agent runs at once; more are refused (a following grep holds its thread). */
export const MaxGrepThreads = 16;
/** Batches sent to the thread hold whole lines, about this many characters (one longer line is one batch). */
const BatchChars = 256 * 1024;

let threads = 0;

/** Compiles a user's pattern; the error message when it is not a valid regular expression. */
export function compileGrep(source: string): RegExp | string {
  try {
    return new RegExp(source);
  } catch (err) {
    return `grep: ${(err as Error).message}`;
  }
}

/** A grep that ran over its budget: the message says so and what to do. */
export class GrepBudgetExceeded extends TiffinError {
  constructor(budgetMs: number) {
    super(ErrorCodes.Timeout, `--grep stopped: the pattern took over ${budgetMs / 1000} s on one batch of lines`, {
      hint: "nested quantifiers such as (a+)+ backtrack exponentially; simplify the pattern",
    });
  }
}

/** Matches lines against one pattern in its own thread, each batch within a time budget. */
export class LineMatcher {
  readonly #worker: Worker;
  readonly #budgetMs: number;
  #closed = false;

  private constructor(pattern: string, budgetMs: number) {
    this.#budgetMs = budgetMs;
    // Bounded heap: a batch and its matches fit many times over; a runaway allocation ends the thread.
    this.#worker = new Worker(...workerEntry(moduleFile("./grep-worker.ts", import.meta.url), { workerData: { pattern }, resourceLimits: { maxOldGenerationSizeMb: 64 } }));
    this.#worker.unref();
  }

  /** A matcher for `pattern` (already checked by compileGrep), or null when MaxGrepThreads already run. */
  static open(pattern: string, budgetMs: number = DefaultGrepBudgetMs): LineMatcher | null {
    if (threads >= MaxGrepThreads) return null;
    threads++;
    return new LineMatcher(pattern, budgetMs);
  }

  /** The lines of `text` (joined by "\n", no trailing newline) that match; GrepBudgetExceeded past the budget. */
  match(text: string): Promise<string[]> {
    if (this.#closed) return Promise.reject(new Error("LineMatcher used after close"));
    return new Promise<string[]>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#worker.off("message", onMessage).off("error", onError).off("exit", onExit);
      };
      const onMessage = (lines: string[]): void => {
        done();
        resolve(lines);
      };
      const onError = (err: Error): void => {
        done();
        reject(err);
      };
      const onExit = (): void => {
        done();
        reject(new Error("the grep thread exited"));
      };
      const timer = setTimeout(() => {
        done();
        void this.close();
        reject(new GrepBudgetExceeded(this.#budgetMs));
      }, this.#budgetMs);
      this.#worker.on("message", onMessage).on("error", onError).on("exit", onExit);
      this.#worker.postMessage(text);
    });
  }

  /** Ends the thread (mid-match if need be). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    threads--;
    await this.#worker.terminate();
  }
}

/** Splits `text` into batches of whole lines of about BatchChars each. */
function batches(lines: string[]): string[] {
  const out: string[] = [];
  let start = 0;
  let size = 0;
  for (let i = 0; i < lines.length; i++) {
    size += lines[i]!.length + 1;
    if (size >= BatchChars) {
      out.push(lines.slice(start, i + 1).join("\n"));
      start = i + 1;
      size = 0;
    }
  }
  if (start < lines.length) out.push(lines.slice(start).join("\n"));
  return out;
}

/** The lines of `chunks` that `matcher` matches, each with its newline, as they complete. */
export async function* grepLines(chunks: AsyncIterable<Buffer>, matcher: LineMatcher): AsyncGenerator<Buffer> {
  let pending = "";
  const decoder = new TextDecoder();
  for await (const chunk of chunks) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const batch of batches(lines)) {
      const out = await matcher.match(batch);
      if (out.length > 0) yield Buffer.from(out.join("\n") + "\n");
    }
  }
  pending += decoder.decode();
  if (pending !== "" && (await matcher.match(pending)).length > 0) yield Buffer.from(pending);
}
