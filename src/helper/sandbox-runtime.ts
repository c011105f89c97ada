// The OCI runtime's command line (crun preferred, runc accepted) and the probe an agent runs at start to
// learn which one works here: it starts a trivial container, because a runtime that is installed may
// still refuse this host (crun 1.8 refuses a hybrid cgroup layout with controllers on the v2 mount).
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { defaultSandboxUser } from "./protocol.ts";
import type { RuntimeInfo, SandboxConfig } from "./protocol.ts";

/** Runtimes in order of preference. */
export const runtimeNames = ["crun", "runc"] as const;

/** Where runtime binaries are looked for besides PATH (the agent may run with a minimal PATH). */
const binDirs = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** argv of a runtime subcommand, with `--root` when the runtime keeps its state somewhere special. */
export function runtimeArgv(r: RuntimeInfo, args: string[]): string[] {
  return [r.path, ...(r.stateDir === null ? [] : ["--root", r.stateDir]), ...args];
}

/** The environment the runtime itself runs with (not the task's). */
export function runtimeEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };
  for (const k of ["XDG_RUNTIME_DIR", "HOME"]) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}

/**
 * argv that runs `command` in a running container as its task does: the task's user (not the
 * runtime's default, root in the container), no_new_privs; the container's env, capabilities and
 * seccomp apply. For `tiffin exec` (`extra`: --tty, --env) and command health checks.
 */
export function execArgv(sb: SandboxConfig, id: string, command: string[], extra: string[] = []): string[] {
  const u = sb.runtime.rootless ? null : (sb.user ?? defaultSandboxUser);
  const user = u === null ? [] : ["--user", `${u.uid}:${u.gid}`, "--no-new-privs"];
  return runtimeArgv(sb.runtime, ["exec", ...user, ...extra, id, ...command]);
}

/** Runs a runtime subcommand to completion; the result is a value, never a throw. */
export function execRuntime(r: RuntimeInfo, args: string[], timeoutMs = 10_000): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const [file, ...rest] = runtimeArgv(r, args);
  return new Promise((resolve) => {
    execFile(file ?? r.path, rest, { env: runtimeEnv(), timeout: timeoutMs, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      resolve({ ok: err === null, stdout: String(stdout), stderr: String(stderr) || (err ? err.message : "") });
    });
  });
}

/** Sends `signal` to the container's init (`kill ID SIG`); false when the container is gone. */
export async function killContainer(r: RuntimeInfo, id: string, signal: string): Promise<boolean> {
  return (await execRuntime(r, ["kill", id, signal.replace(/^SIG/, "")])).ok;
}

/** Removes the container's state whatever it is doing (`delete -f`); quiet when it is already gone. */
export async function deleteContainer(r: RuntimeInfo, id: string): Promise<void> {
  await execRuntime(r, ["delete", "-f", id]);
}

/** Absolute path of `name` in PATH or the usual system directories, or null. */
export function findBinary(name: string, pathVar = process.env["PATH"] ?? ""): string | null {
  const dirs = [...pathVar.split(":").filter((d) => d.startsWith("/")), ...binDirs];
  for (const d of dirs) {
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** "crun version 1.8.1" / "runc version 1.1.5+ds1" -> "1.8.1" / "1.1.5". */
export function parseRuntimeVersion(text: string): string | null {
  const m = /version\s+v?(\d+(?:\.\d+)*)/i.exec(text);
  return m?.[1] ?? null;
}

/** The version a runtime binary reports, or null when it does not run. */
export function runtimeVersion(bin: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(bin, ["--version"], { timeout: 5000 }, (err, stdout) => resolve(err ? null : parseRuntimeVersion(String(stdout))));
  });
}
