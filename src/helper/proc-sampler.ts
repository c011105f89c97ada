// Test support: which processes of a job are alive, looked up in /proc every few tens of milliseconds for
// a whole scenario, in a worker thread so that a test busy awaiting the API cannot delay a sample. A
// process belongs to the attempt named by ATTEMPT_ID in its environment (the agent sets it, and a
// container's processes carry it too); zombies count as dead. "At most one live copy" is then a
// property of every sample, not of the moment a test happened to look.
import { Worker } from "node:worker_threads";

/** One look at /proc: when (epoch ms), and the live pids of each attempt of the job. */
export interface ProcSample {
  at: number;
  byAttempt: Record<string, number[]>;
}

const workerSource = `
const fs = require("node:fs");
const { parentPort, workerData } = require("node:worker_threads");
const { mark, everyMs, flag } = workerData;
const stop = new Int32Array(flag);
const samples = [];
// Reading a process's environ is the slow part (tens of ms for all of them on a loaded host): it is
// read once per process image, known by pid, start time and name (an exec changes the name).
const known = new Map();
function look() {
  const byAttempt = {};
  const seen = new Set();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\\d+$/.test(name)) continue;
    let stat;
    try {
      stat = fs.readFileSync("/proc/" + name + "/stat", "latin1");
    } catch { continue; }
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    const key = name + " " + stat.slice(stat.indexOf("(") + 1, close) + " " + fields[19];
    seen.add(key);
    let att = known.get(key);
    if (att === undefined) {
      try {
        const entries = fs.readFileSync("/proc/" + name + "/environ", "latin1").split("\\0");
        att = entries.some((e) => e.startsWith(mark)) ? (entries.find((e) => e.startsWith("ATTEMPT_ID=")) || "ATTEMPT_ID=?").slice(11) : null;
      } catch { continue; }
      known.set(key, att);
    }
    if (att === null || fields[0] === "Z" || fields[0] === "X") continue;
    (byAttempt[att] ??= []).push(Number(name));
  }
  for (const k of known.keys()) if (!seen.has(k)) known.delete(k);
  samples.push({ at: Date.now(), byAttempt });
  Atomics.add(stop, 1, 1);
}
// [0]: 0 sampling, 1 stop, 2 a snapshot is asked for (answered, then back to 0).
for (;;) {
  const asked = Atomics.load(stop, 0);
  if (asked === 1) break;
  if (asked === 2) {
    parentPort.postMessage({ final: false, samples });
    Atomics.compareExchange(stop, 0, 2, 0);
  }
  look();
  Atomics.wait(stop, 0, 0, everyMs);
}
look();
parentPort.postMessage({ final: true, samples });
`;

/** Samples the processes with an environment entry starting with `mark` (e.g. "JOB_NAME=web") until stopped. */
export class ProcSampler {
  // [0]: 1 to stop, 2 to ask for a snapshot; [1]: samples taken so far (the worker counts).
  readonly #flag = new SharedArrayBuffer(8);
  readonly #result: Promise<ProcSample[]>;
  /** Who waits for the snapshot asked for (one at a time: see `snapshot`). */
  #answer: ((samples: ProcSample[]) => void) | null = null;
  #snapshots: Promise<unknown> = Promise.resolve();
  readonly everyMs: number;

  constructor(mark: string, everyMs = 50) {
    this.everyMs = everyMs;
    const worker = new Worker(workerSource, { eval: true, workerData: { mark, everyMs, flag: this.#flag } });
    this.#result = new Promise((resolve, reject) => {
      worker.on("message", (m: { final: boolean; samples: ProcSample[] }) => {
        // The last samples also answer a snapshot asked for as sampling stopped.
        this.#answer?.(m.samples);
        this.#answer = null;
        if (m.final) resolve(m.samples);
      });
      worker.once("error", reject);
    });
  }

  /** How many samples were taken so far: `warm(taken() + 2)` waits for two more looks. */
  taken(): number {
    return Atomics.load(new Int32Array(this.#flag), 1);
  }

  /** Every sample so far, oldest first, while sampling goes on (one sampler shared by tests that run
   * at once costs the host one worker's reads of /proc, not one per test). */
  snapshot(): Promise<ProcSample[]> {
    const next = this.#snapshots.then(
      () =>
        new Promise<ProcSample[]>((resolve) => {
          this.#answer = resolve;
          const flag = new Int32Array(this.#flag);
          Atomics.compareExchange(flag, 0, 0, 2);
          Atomics.notify(flag, 0);
        }),
    );
    this.#snapshots = next.catch(() => undefined);
    return next;
  }

  /** Resolves once `n` samples were taken (the worker started and looked): a test that kills right
   * after can rely on its processes having been seen. A loaded host takes a while to start a worker. */
  async warm(n = 2, timeoutMs = 30_000): Promise<void> {
    const flag = new Int32Array(this.#flag);
    const until = Date.now() + timeoutMs;
    while (Atomics.load(flag, 1) < n) {
      if (Date.now() > until) throw new Error(`the /proc sampler took no ${n} samples within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Stops sampling; resolves with every sample, oldest first. */
  stop(): Promise<ProcSample[]> {
    const flag = new Int32Array(this.#flag);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    return this.#result;
  }
}

/** The gaps between consecutive samples, in ms, smallest first. */
export function gapsMs(samples: ProcSample[]): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < samples.length; i++) gaps.push((samples[i]?.at ?? 0) - (samples[i - 1]?.at ?? 0));
  return gaps.sort((a, b) => a - b);
}

/** The longest time between two samples, in ms. */
export function maxGapMs(samples: ProcSample[]): number {
  return gapsMs(samples).at(-1) ?? 0;
}

/** The `p`-th percentile (0..100) of the gaps between samples, in ms. */
export function gapPercentileMs(samples: ProcSample[], p: number): number {
  const gaps = gapsMs(samples);
  return gaps[Math.min(gaps.length - 1, Math.max(0, Math.ceil((p / 100) * gaps.length) - 1))] ?? 0;
}

/** How evenly `samples` were taken: the median, 95th percentile and largest gap (ms), and a line saying so. */
export function gapReport(samples: ProcSample[]): { p50: number; p95: number; max: number; text: string } {
  const [p50, p95, max] = [gapPercentileMs(samples, 50), gapPercentileMs(samples, 95), maxGapMs(samples)];
  return { p50, p95, max, text: `${samples.length} samples of /proc; gaps: median ${p50} ms, 95th percentile ${p95} ms, largest ${max} ms` };
}

/** The samples in which more than one attempt (of `among`, when given) had a live process. */
export function overlaps(samples: ProcSample[], among?: ReadonlySet<string>): ProcSample[] {
  return samples.filter((s) => Object.keys(s.byAttempt).filter((a) => among === undefined || among.has(a)).length > 1);
}

/** When `attempt` was first and last seen alive, or null if never. */
export function seenAlive(samples: ProcSample[], attempt: string): { first: number; last: number } | null {
  const at = samples.filter((s) => (s.byAttempt[attempt]?.length ?? 0) > 0).map((s) => s.at);
  return at.length === 0 ? null : { first: Math.min(...at), last: Math.max(...at) };
}

/** When `attempt` was first seen gone after `at` (the first sample after it without the attempt's
 * processes), or Infinity when it never was. With `seenAlive().last` it brackets a death. */
export function firstGoneAfter(samples: ProcSample[], attempt: string, at: number): number {
  const gone = samples.filter((s) => s.at > at && (s.byAttempt[attempt]?.length ?? 0) === 0).map((s) => s.at);
  return gone.length === 0 ? Infinity : Math.min(...gone);
}
