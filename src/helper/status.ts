// status.json: the helper's record of its attempt, rewritten atomically (write + rename) on every change
// so a reader (the agent, readLogs) never sees half a file.
import fs from "node:fs";
import { isTerminal } from "../model/attempt-state.ts";
import { helperChecks } from "./checks.ts";
import type { HelperStatus } from "./protocol.ts";

/** Holds the current status, persists every change and tells a listener. */
export class StatusFile {
  readonly #path: string;
  #status: HelperStatus;
  readonly #onChange: (s: HelperStatus) => void;

  constructor(path: string, initial: HelperStatus, onChange: (s: HelperStatus) => void) {
    this.#path = path;
    this.#status = initial;
    this.#onChange = onChange;
    this.#persist();
  }

  /** The current status (a copy). */
  get(): HelperStatus {
    return { ...this.#status };
  }

  /** Applies `patch`; a final status never changes again. Returns false when nothing changed. */
  update(patch: Partial<HelperStatus>): boolean {
    if (isTerminal(this.#status.state)) return false;
    const next = { ...this.#status, ...patch };
    if (JSON.stringify(next) === JSON.stringify(this.#status)) return false;
    this.#status = next;
    this.#persist();
    this.#onChange(this.get());
    return true;
  }

  #persist(): void {
    writeStatusFile(this.#path, this.#status);
  }
}

/** Writes `status` to `path` atomically. */
export function writeStatusFile(path: string, status: HelperStatus): void {
  const tmp = `${path}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(status)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, path);
}

/** Reads a status.json; null when it is missing or unreadable. */
export function readStatusFile(path: string): HelperStatus | null {
  try {
    const r = helperChecks().status(JSON.parse(fs.readFileSync(path, "utf8")));
    // protocol-schema.ts asserts the schema the checker was derived from is HelperStatus.
    return r.ok ? (r.value as HelperStatus) : null;
  } catch {
    return null;
  }
}

/** True when the status will not change again (exited, failed, lost). */
export function isFinalStatus(s: HelperStatus | null): boolean {
  return s !== null && isTerminal(s.state);
}
