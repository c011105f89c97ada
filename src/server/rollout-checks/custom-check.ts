// A rollout's custom checks: an HTTP URL whose status decides, or a command whose exit code decides,
// each within its timeout. The command runs through an injected `exec` (the controller passes the
// `tiffin exec` path into one of the phase's new tasks; tests pass a local spawn), so this file does
// no placement and knows no agent. Verdicts share the judge's shape: an answer decides pass or fail;
// no answer in time, or none at all (refused, unreachable, could not start), is inconclusive, and the
// controller waits or fails by its policy, as for every other check.
import type { CustomCheck, Verdict, VerdictReason } from "../../model/judge/index.ts";

/** What an exec of a command in a task gave: its exit code (null when a signal ended it) and its output. */
export interface ExecResult {
  exitCode: number | null;
  /** Stdout and stderr, interleaved; cut by the runner to `OUTPUT_MAX` characters. */
  output: string;
}

/** The task a command check runs in: one of the phase's new tasks. */
export interface ExecTask {
  job: string;
  index: number;
}

/** Runs `argv` in `task` (one of the phase's new tasks; null: none serves); must stop it when `signal`
 * aborts (the timeout). Rejects when it cannot run it (no task, agent unreachable). */
export type ExecFn = (argv: readonly string[], o: { signal: AbortSignal; task: ExecTask | null }) => Promise<ExecResult>;

/** What the runner needs from outside. */
export interface CustomCheckDeps {
  exec: ExecFn;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** A custom check's verdict with what it saw. */
export interface CustomCheckVerdict {
  verdict: Verdict;
  reason: VerdictReason;
  kind: CustomCheck["kind"];
  /** The URL, or the command as one line. */
  target: string;
  /** The HTTP status (http checks that got an answer). */
  status: number | null;
  /** The exit code (command checks that ended by themselves). */
  exitCode: number | null;
  durationMs: number;
  /** The start of the body or output, for status and history. */
  output: string;
  summary: string;
}

/** The most output kept with a verdict. */
export const OUTPUT_MAX = 2000;

class Timeout extends Error {}

function withTimeout<T>(ms: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      ac.abort(new Timeout());
      reject(new Timeout());
    }, ms);
    run(ac.signal).then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(ac.signal.aborted ? new Timeout() : e);
      },
    );
  });
}

async function bodyStart(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (text.length < OUTPUT_MAX) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text.slice(0, OUTPUT_MAX);
}

/** Runs one custom check and judges it (a command in `task`). Never throws for what the check met; only for bugs. */
export async function runCustomCheck(check: CustomCheck, deps: CustomCheckDeps, task: ExecTask | null = null): Promise<CustomCheckVerdict> {
  const started = performance.now();
  const target = check.kind === "http" ? check.url : check.run.join(" ");
  const base = { kind: check.kind, target, status: null, exitCode: null, output: "" };
  const elapsed = (): number => Math.round(performance.now() - started);
  try {
    if (check.kind === "http") {
      const doFetch = deps.fetch ?? fetch;
      const { status, output } = await withTimeout(check.timeoutMs, async (signal) => {
        const res = await doFetch(check.url, { redirect: "manual", signal });
        return { status: res.status, output: await bodyStart(res) };
      });
      const ok = status >= check.statuses[0] && status <= check.statuses[1];
      const range = check.statuses[0] === check.statuses[1] ? `${check.statuses[0]}` : `${check.statuses[0]}-${check.statuses[1]}`;
      return { ...base, verdict: ok ? "pass" : "fail", reason: "answered", status, output, durationMs: elapsed(), summary: `GET ${target}: ${status} (${ok ? "in" : "not in"} ${range})` };
    }
    const r = await withTimeout(check.timeoutMs, (signal) => deps.exec(check.run, { signal, task }));
    const output = r.output.slice(0, OUTPUT_MAX);
    const where = task === null ? "" : ` in ${task.job}/${task.index}`;
    if (r.exitCode === null) return { ...base, verdict: "fail", reason: "answered", output, durationMs: elapsed(), summary: `${target}${where}: ended by a signal` };
    return { ...base, verdict: r.exitCode === 0 ? "pass" : "fail", reason: "answered", exitCode: r.exitCode, output, durationMs: elapsed(), summary: `${target}${where}: exit code ${r.exitCode}` };
  } catch (e) {
    if (e instanceof Timeout) return { ...base, verdict: "inconclusive", reason: "timeout", durationMs: elapsed(), summary: `${target}: no answer within ${check.timeoutMs}ms` };
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : "";
    const message = e instanceof Error ? `${e.message}${cause}` : String(e);
    return { ...base, verdict: "inconclusive", reason: "error", output: message.slice(0, OUTPUT_MAX), durationMs: elapsed(), summary: `${target}: could not run: ${message.slice(0, 200)}` };
  }
}
