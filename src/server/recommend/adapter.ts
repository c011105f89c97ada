// The loop that applies recommendations to jobs that opted in (`resources.adapt`): on the leader only,
// every `checkEveryMs`, each such job's decision (adapt.ts); a change is stored as a normal new version
// by "tiffin recommender", with a message saying what and why, so it shows in `tiffin history`, can be
// reverted like any version, and rolls out as any version change does (replacing tasks as the
// reconciler and the rollout controller do for every new version: never an eviction of its own).
import type { RecommendPolicy, Resources } from "../../model/index.ts";
import type { ServerContext } from "../context.ts";
import { storeVersion } from "../routes/jobs.ts";
import { adaptMessage, adaptTarget, RecommenderName, significant } from "./adapt.ts";
import { currentVersion, jobRecommendation } from "./gather.ts";

/** Options of the adapter loop. */
export interface AdapterOptions {
  policy: RecommendPolicy;
  /** How often jobs with `adapt` are looked at. @default 300000 (5 min) */
  checkEveryMs?: number;
  /** True while this server leads (only the leader adapts). */
  active: () => boolean;
}

/** Applies recommendations to jobs with `resources.adapt`, periodically. */
export class Adapter {
  readonly #ctx: ServerContext;
  readonly #o: Required<AdapterOptions>;
  #timer: { cancel(): void } | null = null;
  #closed = false;
  #running: Promise<void> = Promise.resolve();

  constructor(ctx: ServerContext, o: AdapterOptions) {
    this.#ctx = ctx;
    this.#o = { checkEveryMs: 300_000, ...o };
  }

  /** Looks at every job with `adapt` once; resolves when done. */
  async runOnce(): Promise<void> {
    if (!this.#o.active()) return;
    const m = this.#ctx.mirror;
    for (const name of [...m.jobs.keys()]) {
      if (this.#closed) return;
      if (!currentVersion(m, name)?.spec.adapt) continue;
      try {
        await this.#adapt(name);
      } catch (err) {
        this.#ctx.log.warn({ err, job: name }, "adapting the job's resources failed; tried again next time");
      }
    }
  }

  async #adapt(name: string): Promise<void> {
    const r = await jobRecommendation(this.#ctx, name, this.#o.policy);
    const apply = r?.decision?.apply;
    if (!r || !apply) return;
    const recommended = r.rec.recommended;
    if (!recommended) return;
    const based = r.rec.version;
    // Derived again on every try of the write: a version applied meanwhile is built on (and its own
    // bounds obeyed), and a job that no longer opts in, or changed its resources since, is left alone.
    // Nothing to store is an early end, never the current spec "applied" again: storeVersion takes
    // that as a user's re-apply, which releases parked tasks.
    const derive = () => {
      const cur = currentVersion(this.#ctx.mirror, name);
      if (!cur?.spec.adapt || (cur.version !== based && !sameResources(cur.spec.resources, r.rec.current))) throw new NothingToAdapt();
      const resources = adaptTarget(cur.spec.resources, recommended, cur.spec.adapt);
      if (!significant(cur.spec.resources, resources)) throw new NothingToAdapt();
      return { ...cur.spec, resources };
    };
    try {
      const result = await storeVersion(this.#ctx, derive, { by: RecommenderName, message: adaptMessage(r.rec, apply) }, "adapted by the recommender");
      if (result.changed) this.#ctx.log.info({ job: name, version: result.version, from: r.rec.current, to: apply }, "job resources adapted from usage");
    } catch (err) {
      if (!(err instanceof NothingToAdapt)) throw err;
    }
  }

  /** Runs every `checkEveryMs` until `close`. */
  start(): void {
    const tick = (): void => {
      if (this.#closed) return;
      this.#timer = this.#ctx.clock.setTimeout(() => {
        this.#running = this.runOnce().finally(tick);
      }, this.#o.checkEveryMs);
    };
    if (this.#timer === null) tick();
  }

  /** Stops the loop, waiting for a pass under way. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = null;
    await this.#running.catch(() => {});
  }
}

/** The job changed (removed, no longer adapting, other resources applied) between deciding and writing. */
class NothingToAdapt extends Error {}

function sameResources(a: Resources, b: Resources): boolean {
  return a.cpu === b.cpu && a.memoryMiB === b.memoryMiB && a.diskMiB === b.diskMiB;
}
