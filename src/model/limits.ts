// Limits that the CLI's checks, the server's and the helper's must agree on.
import type { JobSpec } from "./job.ts";

/** The largest request body the server reads (a job spec with its files must fit). */
export const MaxRequestBytes = 1 << 20;

// What the host's kernel can take, so a spec that validates can start: execve takes argv and env
// strings only up to MAX_ARG_STRLEN and ends them at a NUL; a path part is at most NAME_MAX bytes; a
// file cannot also be a folder. Used by the spec checks (what users write, what the server stores)
// and by the helper before it starts a task (specs stored before these checks existed).

/** Linux's MAX_ARG_STRLEN (32 pages): the most bytes of one argv or env string, its final NUL included. */
export const MaxArgStringBytes = 32 * 4096;
/** Linux's NAME_MAX: the most bytes of one path part. */
export const MaxNameBytes = 255;
/** Linux's PATH_MAX less the work directory's own path, kept short: the most bytes of a file's path. */
export const MaxFilePathBytes = 1024;

const kib = (n: number): string => `${Math.round(n / 1024)} KiB`;

/** Why `s` cannot be handed to a program as one argument (`what`: "an argument"), or null. */
export function execStringProblem(s: string, what: string): string | null {
  const nul = s.indexOf("\0");
  if (nul >= 0) return `${what} may not contain a NUL byte (at character ${nul}): the kernel would end the string there`;
  const bytes = Buffer.byteLength(s, "utf8") + 1;
  if (bytes > MaxArgStringBytes) {
    return `${what} is ${bytes - 1} bytes (UTF-8); the kernel takes at most ${MaxArgStringBytes - 1} bytes per argument or env entry. Ship large data in files or a package`;
  }
  return null;
}

/** Why the env entry `NAME=value` cannot be handed to a program, or null. */
export function envEntryProblem(name: string, value: string): string | null {
  if (value.includes("\0")) return execStringProblem(value, "an env value");
  return execStringProblem(`${name}=${value}`, `the env entry ${name}=...`);
}

/** Why a file's path (already relative and clean) cannot be created on the host, or null. */
export function fileNameProblem(path: string): string | null {
  if (path.includes("\0")) return "file paths may not contain a NUL byte";
  if (Buffer.byteLength(path, "utf8") > MaxFilePathBytes) return `file paths are limited to ${MaxFilePathBytes} bytes`;
  const long = path.split("/").find((part) => Buffer.byteLength(part, "utf8") > MaxNameBytes);
  return long === undefined ? null : `each part of a file path is limited to ${MaxNameBytes} bytes (a part here is ${Buffer.byteLength(long, "utf8")})`;
}

/** Files whose path runs through another file (`a` and `a/b`): the deeper path and why. */
export function fileTreeConflicts(paths: readonly string[]): { path: string; message: string }[] {
  const files = new Set(paths);
  const out: { path: string; message: string }[] = [];
  for (const p of paths) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join("/");
      if (files.has(prefix)) {
        out.push({ path: p, message: `"${prefix}" is a file in files, so it cannot also be a folder holding "${p}"` });
        break;
      }
    }
  }
  return out;
}

/** Why a compiled job cannot be sent to the server in one request (its files too large), or null. */
export function requestSizeProblem(spec: JobSpec): string | null {
  const bytes = Buffer.byteLength(JSON.stringify({ spec }), "utf8");
  if (bytes <= MaxRequestBytes) return null;
  const files = Object.values(spec.files).reduce((n, f) => n + Buffer.byteLength(JSON.stringify(f.content), "utf8"), 0);
  return (
    `the job is ${kib(bytes)} as sent to the server (${kib(files)} of it files), over its ${kib(MaxRequestBytes)} request limit: ` +
    "files hold configuration; ship programs and data in a package (tiffin pkg push, then packages: [...])"
  );
}

/**
 * Memory each task costs its host beyond its own limit, MiB: its share of a helper process and,
 * sandboxed, the runtime's monitor process. The server books it on the host with every task (a
 * Kubernetes pod overhead), so tasks never take memory their helpers need.
 *
 * Derived from bench/RESULTS.md, "Shared helper processes" and "Helper validation" (re-measured once
 * the helper stopped loading zod; agents run up to 8 attempts per helper process,
 * `--tasks-per-helper`): 200 quiet tasks on one agent cost 2.3 MiB PSS per task (helper
 * processes and runtime monitors summed, divided by the tasks); a task logging ~1.5 MB/s adds about
 * 4.6 MiB to its process (zstd contexts, buffers), and the first such task in a process about 23
 * (half of a process's 8 tasks chatty: 7.4 MiB per task; all 8 flat out: 9.6). 8 covers quiet
 * hosts four times over and hosts where up to half the tasks log heavily; what it does not cover is a
 * host whose every task logs flat out (about 1.6 MiB per task short) and a host running 1 to 3 tasks,
 * whose one helper process (about 14 MiB) is booked as 8 to 24. An agent run with
 * `--tasks-per-helper 1` pays 14.4 MiB per task (6.4 more than booked: the server books one overhead
 * for every host, not the agent's own) and should offer less memory (`--memory`). A helper that
 * loads zod again would cost ~10 MiB more per process: src/agent/helper-bundle.test.ts guards it.
 */
export const TaskOverheadMiB = 8;

/** The memory a task books on its host: its own limit and the per-task overhead. */
export function bookedMemoryMiB(memoryMiB: number, overheadMiB: number = TaskOverheadMiB): number {
  return memoryMiB + overheadMiB;
}
