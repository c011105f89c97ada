#!/usr/bin/env node
// The `tiffin` command. In a checkout it runs the TypeScript sources directly on Node 24+ (type
// stripping); an installed package runs the JavaScript that `npm run build` emitted to dist/, since Node
// strips no types under node_modules. On an older Node, re-run with the Node 24 the project installs
// (the `node` dependency), or say what to do. This file stays plain JavaScript that Node 18 and 20
// parse, so the check can run at all; it passes argv, stdio, signals and the exit status through.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import module from "node:module";
import { constants } from "node:os";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const major = Number(process.versions.node.split(".")[0]);
const installed = here.split(sep).includes("node_modules");
if (major < 24) {
  // The `node` npm package (an optional dependency: a platform it has no build for still installs) holds Node 24: in an installed package under its own
  // node_modules, in a checkout under the repository's.
  const candidates = [join(here, "..", "node_modules", "node", "bin", "node"), join(here, "..", "node_modules", ".bin", "node"), join(here, "..", "..", ".bin", "node")];
  const local = candidates.find((p) => existsSync(p));
  if (!local) {
    const how = installed ? "install Node.js 24 (nodejs.org, or `npm install -g node@24`) and run tiffin with it, or reinstall tiffin so that its own Node 24 (the `node` package) is installed" : "run `npm install` in the tiffin checkout, or install Node 24";
    process.stderr.write(`tiffin: needs Node.js 24 or newer (this is ${process.version} at ${process.execPath}); ${how}.\n`);
    process.exit(1);
  }
  await reexec(local);
}

/**
 * Runs this file again on `node` (Node 24) and ends as it ends. This process stays as the parent so a
 * service manager's pid is still tiffin: signals sent to it are passed on (SIGTERM to the agent keeps
 * its tasks; `systemctl` signals the main pid alone), and a child killed by a signal kills this
 * process with the same signal, so the exit status reads the same to whoever started it.
 */
async function reexec(node) {
  const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  // Ctrl-C, Ctrl-\\, Ctrl-Z and window changes on a terminal reach the child already (the terminal
  // signals its whole foreground group): passed on again, the child would see each twice. This process
  // still outlives them, to return the child's status. Job control (SIGTSTP, SIGCONT) is left as is.
  const forwarded = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];
  const fromTerminal = new Set(process.stdin.isTTY ? ["SIGINT", "SIGQUIT"] : []);
  const pass = (sig) => {
    if (fromTerminal.has(sig)) return;
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  for (const sig of forwarded) process.on(sig, pass);
  const [code, signal] = await new Promise((resolve) => {
    child.once("error", (err) => {
      process.stderr.write(`tiffin: cannot run ${node}: ${err.message}\n`);
      resolve([1, null]);
    });
    child.once("exit", (c, s) => resolve([c, s]));
  });
  for (const sig of forwarded) process.off(sig, pass);
  if (signal) {
    process.kill(process.pid, signal);
    // A signal whose default is not to end the process (or one ignored here): the shell's convention.
    process.exit(128 + (constants.signals[signal] ?? 0));
  }
  process.exit(code ?? 1);
}
// `tiffin pkg run REF -- ARGS` from a warm cache: straight to the entry point (execve) without loading
// the whole CLI; anything else (a fetch, a tag, options) falls through to it.
if (process.argv[2] === "pkg" && process.argv[3] === "run" && !process.env.TIFFIN_NO_FAST_RUN) {
  const { fastRun } = await import("./pkg-run-fast.js");
  fastRun(process.argv.slice(4), process.env);
}
// The sources when they are here and not installed as a dependency; else the build (a package ships
// no src/). A checkout never runs a stale dist/ by accident.
const source = join(here, "..", "src", "cli", "main.ts");
const fromSource = existsSync(source) && !installed;
const entry = fromSource ? "../src/cli/main.ts" : "../dist/cli/main.js";
// A checkout strips the types of some 300 source files at every start: V8's compile cache keeps the
// result (and its bytecode), which cuts the CLI's start from about 0.7 s of CPU to 0.3 s, and the
// servers', agents' and helpers' starts in the tests likewise. It lives in the checkout (.cache/,
// ignored by git): whoever can write there can change the sources anyway, unlike a shared /tmp. An
// installed package is left as it was. NODE_COMPILE_CACHE names another folder; NODE_DISABLE_COMPILE_CACHE=1
// turns it off.
if (fromSource) module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE || join(here, "..", ".cache", "node-compile"));
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
