// A short history of resource samples per task, for `tiffin status` and a later recommender. Kept in
// memory on the server that receives the agents' reports (the latest sample is also in the attempt
// record in the store, so every server has that): a restart or a leader change starts the history
// again. 60 samples at the helper's 5 s are the last five minutes.
import type { ResourceUsage } from "../model/index.ts";

/** One sample, with the attempt it came from. */
export interface UsageSample extends ResourceUsage {
  attemptId: string;
}

/** Ring buffers of samples by `job/index`. */
export class UsageHistory {
  readonly #byTask = new Map<string, UsageSample[]>();
  readonly #keep: number;

  constructor(keep = 60) {
    this.#keep = keep;
  }

  /** Adds a sample unless it is the one already last (agents resend unchanged statuses). */
  add(job: string, index: number, attemptId: string, u: ResourceUsage): void {
    const key = `${job}/${index}`;
    const list = this.#byTask.get(key) ?? [];
    const last = list[list.length - 1];
    if (last && last.attemptId === attemptId && last.at >= u.at) return;
    list.push({ ...u, attemptId });
    if (list.length > this.#keep) list.splice(0, list.length - this.#keep);
    this.#byTask.set(key, list);
  }

  /** The samples of a task, oldest first. */
  of(job: string, index: number): UsageSample[] {
    return [...(this.#byTask.get(`${job}/${index}`) ?? [])];
  }

  /** Forgets a job's tasks (removed jobs). */
  forgetJob(job: string): void {
    for (const k of this.#byTask.keys()) if (k.slice(0, k.lastIndexOf("/")) === job) this.#byTask.delete(k);
  }
}
