// The spec evaluator child (`node eval-child.ts`): runs one bundled spec file and reports how that
// ended on fd 3, as one line of JSON (a ChildReport). Its own process, so that whatever the spec does
// (exit, hang, throw late, leave timers and servers, allocate without end, print) cannot end, hang or
// garble the CLI: the parent bounds its time and memory, shows its output on stderr and reads only fd 3.
// The bundle comes on stdin and is served from memory through a module hook: nothing is written to disk.
import { writeSync } from "node:fs";
import { registerHooks } from "node:module";
import { describeThrown, origins, stackOf } from "./eval-origin.ts";
import { encodeValue, ReadError } from "./eval-wire.ts";
import type { ChildReport } from "./eval-wire.ts";

/** What the parent sends on stdin. */
export interface EvalRequest {
  /** The bundle's source (ESM with an inline source map). */
  code: string;
  /** The URL the bundle is served at (a file: URL in the spec's own folder, so relative resolution works). */
  url: string;
  /** The folder the source map's paths are relative to. */
  dir: string;
}

const resultFd = 3;
const realExit = process.exit.bind(process);
let reported = false;

function writeAllSync(text: string): void {
  const buf = Buffer.from(`${text}\n`);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(resultFd, buf, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      Atomics.wait(pause, 0, 0, 2); // the parent is reading; wait for room in the pipe
    }
  }
}

function report(r: ChildReport): void {
  if (reported) return;
  reported = true;
  writeAllSync(JSON.stringify(r));
}

function finish(r: ChildReport): never {
  report(r);
  return realExit(0);
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on("data", (c: Buffer) => chunks.push(c));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/** Resources the spec left running (timers, servers, sockets), beyond those of this runner. */
function leftovers(before: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [kind, n] of activeResources()) {
    const extra = n - (before.get(kind) ?? 0);
    if (extra > 0) out.push(`${extra} ${kind}`);
  }
  return out;
}

async function run(): Promise<void> {
  const req = JSON.parse(await readStdin()) as EvalRequest;
  process.stdin.destroy();
  const where = origins(req.url, req.code, req.dir);
  const threw = (err: unknown): Extract<ChildReport, { t: "threw" }> => ({ t: "threw", where: where.of(stackOf(err)), what: describeThrown(err) });
  process.on("uncaughtException", (err) => finish(threw(err)));
  process.on("unhandledRejection", (err) => finish(threw(err)));
  process.exit = ((code?: number | string | null) =>
    finish({ t: "exit", where: where.of(stackOf(new Error())), code: String(code ?? process.exitCode ?? 0) })) as typeof process.exit;
  registerHooks({
    resolve: (specifier, context, next) => (specifier === req.url ? { url: req.url, format: "module", shortCircuit: true } : next(specifier, context)),
    load: (url, context, next) => (url === req.url ? { format: "module", source: req.code, shortCircuit: true } : next(url, context)),
  });
  const before = activeResources();
  let exported: unknown;
  try {
    exported = ((await import(req.url)) as { default?: unknown }).default;
  } catch (err) {
    finish(threw(err));
  }
  // One turn of the event loop, so a rejection nobody handles or an error thrown from a 0 ms timer
  // fails the spec as it would have failed a plain `node spec.js`.
  await new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => setImmediate(resolve));
  const left = leftovers(before);
  try {
    finish({ t: "ok", value: encodeValue(exported), leftovers: left });
  } catch (err) {
    if (!(err instanceof ReadError)) finish(threw(err));
    finish({ ...threw(err.cause), path: err.path });
  }
}

// A top-level await in the spec that never settles empties the event loop without an answer.
process.on("exit", () => report({ t: "unsettled" }));
run().catch((err: unknown) => finish({ t: "threw", where: null, what: describeThrown(err) }));
