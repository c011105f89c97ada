// Runs a bake's custom checks once, off the reconcile pass: the pure controller asks for the verdicts
// of a bake (its key: job, version, phase, bake start) on every pass; the first ask starts every check
// (runCustomCheck), later asks read what has finished (null while a check runs). Bounded: the verdicts
// of the last MaxBakes bakes are kept.
import type { CustomCheck } from "../../model/judge/index.ts";
import { runCustomCheck } from "./custom-check.ts";
import type { CustomCheckDeps, CustomCheckVerdict, ExecTask } from "./custom-check.ts";

const MaxBakes = 1000;

/** Custom checks of rollout bakes, each run once per bake. */
export class CustomCheckRunner {
  readonly #deps: CustomCheckDeps;
  readonly #bakes = new Map<string, (CustomCheckVerdict | null)[]>();

  constructor(deps: CustomCheckDeps) {
    this.#deps = deps;
  }

  /** The verdicts of `checks` for the bake `key`, in order; null for a check still running. The
   * first call for a key starts them all (commands in `task`, one of the phase's new tasks). */
  verdictsOf(key: string, checks: readonly CustomCheck[], task: ExecTask | null = null): (CustomCheckVerdict | null)[] {
    let got = this.#bakes.get(key);
    if (got === undefined) {
      const results: (CustomCheckVerdict | null)[] = checks.map(() => null);
      got = results;
      this.#bakes.set(key, results);
      if (this.#bakes.size > MaxBakes) this.#bakes.delete(this.#bakes.keys().next().value ?? key);
      checks.forEach((c, i) => void runCustomCheck(c, this.#deps, task).then((v) => (results[i] = v)));
    }
    return [...got];
  }
}
