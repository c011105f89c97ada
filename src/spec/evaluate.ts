// Runs a TypeScript or JavaScript spec file and returns its default export. esbuild bundles the file
// with the modules it imports (such as a team's shared defaults), strips types without checking them
// and maps the bare import "tiffin" to this checkout's index.ts. The bundle then runs in a child
// process (eval-child.ts) under a wall-clock and a memory limit, its output kept off our stdout, so no
// spec can hang, end or garble the CLI; the bundle is handed over in memory and never written to disk.
// Cost: about 50 ms for the child on top of the bundle (see src/spec/README.md).
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import type { Message, Plugin } from "esbuild";
import { ErrorCodes, moduleFile, TiffinError } from "../model/index.ts";
import type { EvalRequest } from "./eval-child.ts";
import { displayPath } from "./eval-origin.ts";
import { evalOutcome, parseReport, saysOutOfMemory, userOutput } from "./eval-outcome.ts";
import type { ChildEnd } from "./eval-outcome.ts";

export { displayPath } from "./eval-origin.ts";

/** The module users import as "tiffin": this checkout's src/spec/index.ts, bundled with the spec. */
const tiffinPath = fileURLToPath(moduleFile("./index.ts", import.meta.url));
const childPath = fileURLToPath(moduleFile("./eval-child.ts", import.meta.url));

// A bundle is served from a made-up URL, so `import.meta.dirname` and friends would name that. Each of
// the user's files gets its own real location instead, so a spec can read files beside it (a program
// to ship in `files`, say) wherever the bundle runs.
const metaPattern = /\bimport\.meta\.(dirname|filename|url)\b/g;

const tiffinPlugin: Plugin = {
  name: "tiffin",
  setup(b) {
    b.onResolve({ filter: /^tiffin$/ }, () => ({ path: tiffinPath }));
    b.onLoad({ filter: /\.[mc]?[jt]s$/ }, (args) => {
      if (args.path.includes("/node_modules/")) return undefined;
      const source = readFileSync(args.path, "utf8");
      if (!source.includes("import.meta")) return undefined;
      const real = { dirname: dirname(args.path), filename: args.path, url: pathToFileURL(args.path).href };
      const contents = source.replace(metaPattern, (_, k: "dirname" | "filename" | "url") => JSON.stringify(real[k]));
      return { contents, loader: /\.[mc]?ts$/.test(args.path) ? "ts" : "js" };
    });
  },
};

// Bundled CommonJS dependencies call `require` for Node built-ins; an ES module has none by default.
const banner = 'import { createRequire as __tiffinCreateRequire } from "node:module"; const require = __tiffinCreateRequire(import.meta.url);';

function loadError(message: string, hint: string): TiffinError {
  return new TiffinError(ErrorCodes.SpecLoad, message, { hint });
}

function buildError(err: unknown, workDir: string, shown: string): TiffinError {
  const first: Message | undefined = (err as { errors?: Message[] }).errors?.[0];
  if (!first) return loadError(`${shown}: could not bundle: ${String(err)}`, "check the file and the modules it imports");
  const loc = first.location;
  const where = loc ? `${displayPath(resolve(workDir, loc.file))}:${loc.line}:${loc.column + 1}` : shown;
  return loadError(`${where}: ${first.text}`, "fix the syntax or the import named here; Tiffin bundles the spec with esbuild");
}

function positiveEnv(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** Options of evaluateModule. */
export interface EvaluateOptions {
  /** Wall-clock limit. @default TIFFIN_SPEC_TIMEOUT_MS, else 30 s */
  timeoutMs?: number;
  /** Memory limit of the evaluation (V8 heap; twice that in resident memory). @default TIFFIN_SPEC_MEMORY_MIB, else 512 */
  memoryMiB?: number;
  /** Where the spec's own output (console.log...) goes. @default process.stderr */
  onOutput?: (text: string) => void;
}

async function bundle(abs: string, shown: string): Promise<{ code: string; outfile: string }> {
  const workDir = dirname(abs);
  // Never written (write: false); named in the spec's folder so source map paths are relative to it.
  const outfile = join(workDir, ".tiffin-spec.mjs");
  try {
    const result = await build({
      entryPoints: [abs],
      absWorkingDir: workDir,
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node24",
      outfile,
      write: false,
      sourcemap: "inline",
      banner: { js: banner },
      logLevel: "silent",
      plugins: [tiffinPlugin],
    });
    return { code: result.outputFiles.find((f) => f.path === outfile)?.text ?? "", outfile };
  } catch (err) {
    throw buildError(err, workDir, shown);
  }
}

let runner: Promise<string> | undefined;

/**
 * The child's program, eval-child.ts bundled into one JavaScript module, once per process. Node would
 * strip the types of .ts files itself, but loading its stripper costs the child about 150 ms.
 */
function runnerCode(): Promise<string> {
  runner ??= build({ entryPoints: [childPath], bundle: true, format: "esm", platform: "node", target: "node24", write: false, logLevel: "silent" }).then(
    (r) => r.outputFiles[0]?.text ?? "",
  );
  return runner;
}

const maxOutputBytes = 1 << 20;

/** util-linux's setpriv, where there is one (every Debian has it). */
const pdeathsig = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p)) ?? null;

/** Resident memory of a process in KiB, from /proc (null where there is none). */
function rssKiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m?.[1] ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Runs the bundle in a child process and waits for it, bounded in time and memory. */
function runChild(program: string, req: EvalRequest, timeoutMs: number, memoryMiB: number): Promise<{ end: ChildEnd; output: string }> {
  const node = [process.execPath, `--max-old-space-size=${memoryMiB}`, "--input-type=module", "--eval", program];
  // setpriv execs node in place (same pid, for the memory watch) with a parent-death signal, so a CLI
  // killed with SIGKILL does not leave a looping spec behind; our timer cannot fire then.
  const argv = pdeathsig === null ? node : [pdeathsig, "--pdeathsig", "SIGKILL", "--", ...node];
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: ["pipe", "pipe", "pipe", "pipe"],
    env: process.env,
  });
  let output = "";
  let cut = false;
  const collect = (c: string): void => {
    if (output.length + c.length <= maxOutputBytes) output += c;
    else cut = true;
  };
  const ended = (s: NodeJS.ReadableStream): Promise<void> => new Promise((r) => s.once("end", r).once("close", r));
  child.stdout.setEncoding("utf8").on("data", collect);
  child.stderr.setEncoding("utf8").on("data", collect);
  const resultPipe = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
  // Buffers joined at the end: a chunk boundary may cut a UTF-8 character of the report in two.
  const result: Buffer[] = [];
  resultPipe.on("data", (c: Buffer) => result.push(c));
  resultPipe.on("error", () => undefined);
  const allEnded = Promise.all([ended(resultPipe), ended(child.stdout), ended(child.stderr)]);
  child.stdin.on("error", () => undefined); // the child may be gone before it reads its request
  child.stdin.end(JSON.stringify(req));
  let timedOut = false;
  let overMemory = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  // V8's heap limit does not count Buffers and other memory outside the heap: watch the whole process.
  const watch = setInterval(() => {
    const kib = child.pid === undefined ? null : rssKiB(child.pid);
    if (kib !== null && kib > memoryMiB * 2 * 1024) {
      overMemory = true;
      child.kill("SIGKILL");
    }
  }, 50);
  return new Promise((done) => {
    const finish = (code: number | null, signal: string | null, spawnError: string | null): void => {
      clearTimeout(timer);
      clearInterval(watch);
      // Processes the spec started may hold the pipes open: wait a little for the rest, no longer.
      let graceTimer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((r) => (graceTimer = setTimeout(r, 200)));
      void Promise.race([allEnded, grace]).then(() => {
        clearTimeout(graceTimer);
        for (const s of [child.stdout, child.stderr, child.stdin, resultPipe]) s.destroy();
        const report = parseReport(Buffer.concat(result).toString("utf8"));
        const outOfMemory = overMemory || (report === null && saysOutOfMemory(output));
        const end: ChildEnd = { report, code, signal, timedOut, outOfMemory, spawnError };
        done({ end, output: `${userOutput(output)}${cut ? "(tiffin: the spec's output was cut at 1 MiB)\n" : ""}` });
      });
    };
    child.once("error", (err) => {
      if (child.pid === undefined) finish(null, null, err.message); // it never started: no exit event follows
    });
    child.once("exit", (code, signal) => finish(code, signal, null));
  });
}

/** Bundles and runs the spec at `abs`; returns its default export. Throws TiffinError(SpecLoad). */
export async function evaluateModule(abs: string, opts: EvaluateOptions = {}): Promise<unknown> {
  const timeoutMs = opts.timeoutMs ?? positiveEnv("TIFFIN_SPEC_TIMEOUT_MS", 30_000);
  const memoryMiB = Math.ceil(opts.memoryMiB ?? positiveEnv("TIFFIN_SPEC_MEMORY_MIB", 512));
  const onOutput = opts.onOutput ?? ((t: string) => void process.stderr.write(t));
  const shown = displayPath(abs);
  const { code, outfile } = await bundle(abs, shown);
  const req: EvalRequest = { code, url: `${pathToFileURL(outfile).href}?tiffin-spec`, dir: dirname(outfile) };
  const { end, output } = await runChild(await runnerCode(), req, timeoutMs, memoryMiB);
  if (output !== "") onOutput(output);
  const outcome = evalOutcome(end, { shown, timeoutMs, memoryMiB });
  if (!outcome.ok) throw outcome.error;
  if (outcome.note !== null) onOutput(outcome.note);
  return outcome.value;
}
