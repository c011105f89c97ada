// Repairs the server asks for (a remediation rule's `repair` step, src/server/remediation/repairs.ts):
// a heartbeat answer names one; it runs once (an id already run is not run again, however often the
// answer repeats it), and how it ended rides with the next heartbeat until the server took it. After a
// repair the machine checks run again at once, so a fixed host is seen fixed without waiting an interval.
import type { Logger } from "pino";
import type { RepairRequest, RepairResult } from "../../model/index.ts";
import { runCommand } from "./custom.ts";

/** Ids remembered as run. */
const Remembered = 100;

/** Runs repairs one at a time (see the file comment). */
export class RepairRunner {
  readonly #cwd: string;
  readonly #log: Logger;
  readonly #after: () => void;
  readonly #seen: string[] = [];
  #result: RepairResult | null = null;

  /** `cwd`: where commands run (the data dir); `after`: called when one ended (re-run the checks). */
  constructor(cwd: string, log: Logger, after: () => void) {
    this.#cwd = cwd;
    this.#log = log;
    this.#after = after;
  }

  /** A heartbeat answer carried `req`: runs it unless it ran (or runs) already. */
  request(req: RepairRequest): void {
    if (this.#seen.includes(req.id)) return;
    this.#seen.push(req.id);
    if (this.#seen.length > Remembered) this.#seen.shift();
    this.#log.warn({ id: req.id, command: req.command }, "running a repair the server asked for");
    void runCommand(req.command, req.timeoutMs, this.#cwd).then((end) => {
      const output = end.spawnError ?? (end.timedOut ? `timed out after ${req.timeoutMs} ms${end.line ? `: ${end.line}` : ""}` : end.line);
      this.#result = { id: req.id, exitCode: end.timedOut ? null : end.exitCode, output: output.slice(0, 1000) };
      this.#log.info({ id: req.id, exitCode: this.#result.exitCode, output }, "repair ended");
      this.#after();
    });
  }

  /** How the last repair ended, until the server took it. */
  result(): RepairResult | null {
    return this.#result;
  }

  /** The server took `r`. */
  sent(r: RepairResult): void {
    if (this.#result === r) this.#result = null;
  }
}
