// The machine checks' verdicts, pure: readings in (a statfs, a PSI line, a skew, a probe's outcome,
// a script's exit), a MachineCheckResult's status and message out. Tested by tables (judge.test.ts); the
// readings are taken by probes.ts and custom.ts.
import type { CheckStatus } from "../../model/index.ts";

/** Thresholds of the built-in checks. Each `warn*` is shown; each `fail*` makes the check fail (and
 * remediation rules apply). */
export interface CheckThresholds {
  /** Percent of the data dir's filesystem used. @default 90 / 97 */
  diskWarnPct: number;
  diskFailPct: number;
  /** Percent of its inodes used. @default 90 / 97 */
  inodesWarnPct: number;
  inodesFailPct: number;
  /** PSI memory "full avg10" percent (time every task stalled on memory). @default 10 / 40 */
  memoryWarnPct: number;
  memoryFailPct: number;
  /** Absolute clock difference from the server, ms. @default 500 / 2000 */
  clockWarnMs: number;
  clockFailMs: number;
}

/** The defaults of CheckThresholds. */
export const DefaultThresholds: CheckThresholds = {
  diskWarnPct: 90, diskFailPct: 97, inodesWarnPct: 90, inodesFailPct: 97,
  memoryWarnPct: 10, memoryFailPct: 40, clockWarnMs: 500, clockFailMs: 2000,
};

/** A verdict: a status and one line for people. */
export interface Verdict {
  status: CheckStatus;
  message: string;
}

/** What fs.statfs says of a filesystem (the fields the checks read). */
export interface FsReading {
  bsize: number;
  blocks: number;
  bavail: number;
  files: number;
  ffree: number;
}

const level = (value: number, warn: number, fail: number): CheckStatus => (value >= fail ? "fail" : value >= warn ? "warn" : "pass");
const pct = (used: number, total: number): number => (total <= 0 ? 0 : (100 * used) / total);
const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** Disk of the data dir: used percent of what users may use, or read-only (a write failed EROFS). */
export function judgeDisk(dir: string, fsr: FsReading | null, readOnly: boolean, t: CheckThresholds): Verdict {
  if (readOnly) return { status: "fail", message: `${dir}: filesystem is read-only` };
  if (fsr === null) return { status: "warn", message: `${dir}: statfs failed` };
  // As df: used = total - free-to-root; the percentage is of what non-root users can reach.
  const used = fsr.blocks - fsr.bavail;
  const p = pct(used, fsr.blocks);
  return { status: level(p, t.diskWarnPct, t.diskFailPct), message: `${dir}: ${p.toFixed(0)}% full (${gib(fsr.bavail * fsr.bsize)} free)` };
}

/** Inodes of the data dir's filesystem. A filesystem without inode accounting (files 0) passes. */
export function judgeInodes(dir: string, fsr: FsReading | null, t: CheckThresholds): Verdict {
  if (fsr === null) return { status: "warn", message: `${dir}: statfs failed` };
  if (fsr.files <= 0) return { status: "pass", message: `${dir}: no inode limit` };
  const p = pct(fsr.files - fsr.ffree, fsr.files);
  return { status: level(p, t.inodesWarnPct, t.inodesFailPct), message: `${dir}: ${p.toFixed(0)}% of inodes used (${fsr.ffree} free)` };
}

/** The avg10 of the `full` line of /proc/pressure/memory, or null when the text has none. */
export function parsePsiFullAvg10(text: string): number | null {
  const m = /^full\s.*?\bavg10=([0-9.]+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** Memory pressure from PSI; null text: the kernel has no PSI (the check passes, saying so). */
export function judgeMemory(psiText: string | null, t: CheckThresholds): Verdict {
  if (psiText === null) return { status: "pass", message: "no /proc/pressure/memory (PSI off): not measured" };
  const full = parsePsiFullAvg10(psiText);
  if (full === null) return { status: "warn", message: "/proc/pressure/memory has no full line" };
  return { status: level(full, t.memoryWarnPct, t.memoryFailPct), message: `memory pressure: all tasks stalled ${full.toFixed(1)}% of the last 10 s` };
}

/** The agent's clock minus the server's, from one heartbeat: the server's time is taken as of the
 * middle of the round trip (as NTP does), so the error is at most half the round trip. */
export function clockSkewMs(sentAt: number, receivedAt: number, serverTime: number): number {
  return Math.round((sentAt + receivedAt) / 2 - serverTime);
}

/** Clock skew against the server; null: no heartbeat answer carried the server's time yet. */
export function judgeClock(skewMs: number | null, roundTripMs: number, t: CheckThresholds): Verdict {
  if (skewMs === null) return { status: "pass", message: "not measured yet (no heartbeat answer with the server's time)" };
  const abs = Math.abs(skewMs);
  // A skew within the round trip's uncertainty is not evidence of a wrong clock.
  const judged = Math.max(0, abs - roundTripMs / 2);
  const dir = skewMs > 0 ? "ahead of" : "behind";
  return { status: level(judged, t.clockWarnMs, t.clockFailMs), message: `clock ${abs} ms ${dir} the server (round trip ${roundTripMs} ms)` };
}

/** The container runtime: the last probe's problem (null: it ran), or no runtime at all (skipped). */
export function judgeRuntime(runtime: string | null, problem: string | null): Verdict {
  if (runtime === null) return { status: "pass", message: "no container runtime on this host: not checked" };
  if (problem === null) return { status: "pass", message: `${runtime}: a test container ran` };
  return { status: "fail", message: `${runtime}: a test container failed: ${problem}` };
}

/** The data dir writable: the probe's error (null: a file was written, synced and removed). */
export function judgeDataDir(dir: string, error: string | null): Verdict {
  return error === null ? { status: "pass", message: `${dir}: writable` } : { status: "fail", message: `${dir}: cannot write: ${error}` };
}

/** How a custom script ended. */
export interface ScriptEnd {
  /** null when killed (timeout) or it could not start. */
  exitCode: number | null;
  timedOut: boolean;
  /** Its first line of output (stdout, else stderr), trimmed, at most 200 characters. */
  line: string;
  /** Why it could not start, if it could not. */
  spawnError?: string;
}

/** A custom check script's verdict, by the Nagios convention: exit 0 pass, 1 warn, anything else fail. */
export function judgeScript(name: string, end: ScriptEnd, timeoutMs: number): Verdict {
  if (end.spawnError !== undefined) return { status: "fail", message: `${name}: cannot run: ${end.spawnError}` };
  if (end.timedOut) return { status: "fail", message: `${name}: timed out after ${timeoutMs} ms${end.line ? `: ${end.line}` : ""}` };
  const status: CheckStatus = end.exitCode === 0 ? "pass" : end.exitCode === 1 ? "warn" : "fail";
  return { status, message: end.line || `${name}: exit ${end.exitCode ?? "signal"}` };
}

/** The first non-empty line of a script's output, trimmed to 200 characters. */
export function firstLine(stdout: string, stderr: string): string {
  const pick = (s: string): string => s.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
  const line = pick(stdout) || pick(stderr);
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
