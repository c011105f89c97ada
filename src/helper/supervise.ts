// A task must not outlive its supervisor chain (agent ──> helper ──> task). The helper fences its task
// when the agent goes silent, but a helper that dies (kill -9, OOM, crash) cannot: if its agent is gone
// too, nothing would ever stop the task while the server, past its wait, starts the replacement. So the
// kernel does it, with the parent-death signal (prctl PR_SET_PDEATHSIG, set by util-linux `setpriv`
// just before exec; it fires when the parent THREAD exits, and Node spawns from its main thread):
//
//   helper ──(dies)──> plain task:  setpriv --pdeathsig STOP timeout -s STOP -k GRACE 0 CMD...
//                      sandbox:     setpriv --pdeathsig KILL crun run ...   (the runtime dies with it)
//                                     └──(dies)──> init: setpriv --pdeathsig STOP timeout ... CMD
//
// coreutils `timeout` (duration 0 = no time limit) is the minimal supervisor that stays: on the stop
// signal it sends it on to the task's whole process group and SIGKILL to the group GRACE later (-k),
// the same stop (signal, grace, kill) as from the helper, within the grace the server's wait counts.
// Why the stop signal and not SIGALRM: the kernel sends the parent-death signal again each time a
// thread of the dying parent exits (the child is handed to a sibling thread first), and a second
// SIGALRM makes timeout kill at once, while it ignores its stop signal once it has passed it on. A
// stop signal of SIGKILL would kill timeout before it could pass it on: SIGALRM then (its own
// timer's signal, which sends -s SIGKILL to the group). A helper killed while its agent lives
// changes nothing for the agent: it finds the helper dead, kills what is left and reports the attempt.
// An agent restart does not touch helpers, so tasks survive it as before. Without setpriv (or one older
// than util-linux 2.33), tasks run as before and the helper says so in its log.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { helperLog } from "./log.ts";

/** The host programs that chain a task's life to its helper's; null when the host lacks one. */
export interface DeathTools {
  /** coreutils `timeout`: the supervising init in front of the task. */
  timeout: string | null;
  /** util-linux `setpriv` with `--pdeathsig`. */
  setpriv: string | null;
}

/** How a task is stopped: its stop signal, and how long before SIGKILL. */
export interface StopPolicy {
  signal: string;
  graceMs: number;
}

/**
 * The argv that runs `command` behind its supervising init: `timeout` forwards the stop signal to the
 * task's process group (as a pid namespace's init must: it ignores signals it has no handler for) and
 * kills the group `graceMs` after it; `setpriv` makes the init stop the task when its parent dies.
 */
export function supervisedArgv(tools: DeathTools, stop: StopPolicy, command: string[], runAs?: { uid: number; gid: number }): string[] {
  // `runAs`: setpriv changes the ids first and sets the parent-death signal last (a change of ids
  // clears it), all before exec; the caller has joined the cgroup before, as root.
  const ids = runAs === undefined ? [] : ["--reuid", String(runAs.uid), "--regid", String(runAs.gid), "--clear-groups"];
  if (tools.timeout === null) return tools.setpriv === null ? [...command] : [tools.setpriv, ...ids, "--pdeathsig", "KILL", "--", ...command];
  // -k 0 would mean "never": at least 1 ms.
  const init = [tools.timeout, "-s", stop.signal, "-k", `${Math.max(1, Math.round(stop.graceMs)) / 1000}s`, "0", ...command];
  const deathSignal = stop.signal.replace(/^SIG/, "") === "KILL" ? "ALRM" : stop.signal.replace(/^SIG/, "");
  return tools.setpriv === null ? init : [tools.setpriv, ...ids, "--pdeathsig", deathSignal, "--", ...init];
}

/** The argv of a process (the OCI runtime) that must be SIGKILLed when its parent dies. */
export function diesWithParent(tools: DeathTools, argv: string[]): string[] {
  return tools.setpriv === null ? [...argv] : [tools.setpriv, "--pdeathsig", "KILL", "--", ...argv];
}

/** True for `setpriv --version` output of util-linux 2.33 or later (the first with --pdeathsig). */
export function setprivHasPdeathsig(versionText: string): boolean {
  const m = /util-linux\s+(\d+)\.(\d+)/.exec(versionText);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 2 || (major === 2 && minor >= 33);
}

const binDirs = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];

function findIn(name: string): string | null {
  for (const d of binDirs) {
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return null;
}

/** True when `p` is a regular file this process may execute. */
export function executable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Why `command[0]` cannot be run as the init would look it up (relative to `cwd`, else in env PATH), or null. */
export function programProblem(command: string[], cwd: string, env: Record<string, string>): string | null {
  const prog = command[0] ?? "";
  if (prog === "") return "empty command";
  const found = prog.includes("/") ? executable(path.resolve(cwd, prog)) : (env["PATH"] ?? "/bin:/usr/bin").split(":").some((d) => d.startsWith("/") && executable(path.join(d, prog)));
  return found ? null : `ENOENT program "${prog}" not found${prog.includes("/") ? "" : " in PATH"}`;
}

let cached: DeathTools | null = null;

/** The host's tools, looked up once per process (one `setpriv --version`, ~2 ms). `fresh` looks again. */
export function deathTools(fresh = false): DeathTools {
  if (cached !== null && !fresh) return cached;
  const timeout = findIn("timeout");
  let setpriv = findIn("setpriv");
  if (setpriv !== null) {
    try {
      if (!setprivHasPdeathsig(execFileSync(setpriv, ["--version"], { encoding: "utf8", timeout: 5000 }))) setpriv = null;
    } catch {
      setpriv = null;
    }
  }
  if (setpriv === null) helperLog.warn("no util-linux setpriv with --pdeathsig: a task outlives a helper killed with SIGKILL");
  cached = { timeout, setpriv };
  return cached;
}
