// Custom check scripts: every executable file of the checks dir (`tiffin agent --checks-dir`), run
// with a timeout; its exit code and first line of output are its result (judge.ts judgeScript).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { MaxChecksPerHost } from "../../model/index.ts";
import { firstLine } from "./judge.ts";
import type { ScriptEnd } from "./judge.ts";

/** Bytes of output kept from a script (the rest is read and dropped). */
const MaxOutputBytes = 4096;

/** The executable regular files of `dir`, sorted by name (at most MaxChecksPerHost); a missing dir is none. */
export function listScripts(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names.sort()) {
    if (name.startsWith(".")) continue;
    try {
      const st = fs.statSync(path.join(dir, name));
      if (st.isFile() && (st.mode & 0o111) !== 0) out.push(name);
    } catch {
      // Removed while listed.
    }
  }
  return out.slice(0, MaxChecksPerHost - 8);
}

/** Runs one script with no arguments and no input; kills its process group at `timeoutMs`. */
export function runScript(file: string, timeoutMs: number): Promise<ScriptEnd> {
  return runCommand([file], timeoutMs, path.dirname(file));
}

/** Runs `argv` (no shell, no input) in `cwd`; kills its process group at `timeoutMs`. */
export function runCommand(argv: readonly string[], timeoutMs: number, cwd: string): Promise<ScriptEnd> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const child = spawn(argv[0] ?? "", argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], detached: true, cwd });
    const keep = (acc: string, b: Buffer): string => (acc.length < MaxOutputBytes ? acc + b.toString("utf8", 0, MaxOutputBytes - acc.length) : acc);
    child.stdout.on("data", (b: Buffer) => (stdout = keep(stdout, b)));
    child.stderr.on("data", (b: Buffer) => (stderr = keep(stderr, b)));
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole group: a script's own children (a stuck `df` on a dead NFS mount) go too.
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      resolve({ exitCode: null, timedOut: false, line: "", spawnError: err.message });
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ exitCode: timedOut ? null : code, timedOut, line: firstLine(stdout, stderr) });
    });
  });
}
