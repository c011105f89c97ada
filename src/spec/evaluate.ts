// Runs a TypeScript or JavaScript spec file and returns its default export. esbuild bundles the file
// with the modules it imports (such as a team's shared defaults), strips types without checking them
// and maps the bare import "tiffin" to this checkout's index.ts, kept external so the spec shares our
// module instance. The bundle is written to a fresh temp dir, imported, and removed.
// See MACHINE-NOTES "Evaluating a user's spec file": about 20 ms the first time, 4 ms after.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import type { Message, Plugin } from "esbuild";
import { ErrorCodes, TiffinError } from "../model/index.ts";

/** The module users import as "tiffin": this checkout's src/spec/index.ts. */
const tiffinUrl = new URL("./index.ts", import.meta.url).href;

// A bundle lives in a temp dir, so `import.meta.dirname` and friends would name that dir. Each of the
// user's files gets its own real location instead, so a spec can read files beside it (a program to
// ship in `files`, say) wherever the bundle runs.
const metaPattern = /\bimport\.meta\.(dirname|filename|url)\b/g;

const tiffinPlugin: Plugin = {
  name: "tiffin",
  setup(b) {
    b.onResolve({ filter: /^tiffin$/ }, () => ({ path: tiffinUrl, external: true }));
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

/** A path for messages: relative to the working directory when that is shorter. */
export function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel !== "" && !rel.startsWith("..") ? rel : abs;
}

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

/** Where in the user's files a thrown error came from, via the bundle's source map. */
function origin(err: unknown, bundleUrl: string, map: SourceMap | null, bundleDir: string): string | null {
  const stack = err instanceof Error ? (err.stack ?? "") : "";
  for (const line of stack.split("\n")) {
    const at = line.indexOf(bundleUrl);
    if (at < 0) continue;
    const m = /^:(\d+):(\d+)/.exec(line.slice(at + bundleUrl.length));
    if (!m || !map) continue;
    const o = map.findOrigin(Number(m[1]), Number(m[2]));
    if ("fileName" in o) return `${displayPath(resolve(bundleDir, o.fileName))}:${o.lineNumber}`;
  }
  return null;
}

function sourceMapOf(code: string): SourceMap | null {
  const m = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/.exec(code);
  if (!m?.[1]) return null;
  return new SourceMap(JSON.parse(Buffer.from(m[1], "base64").toString("utf8")) as ConstructorParameters<typeof SourceMap>[0]);
}

/** Evaluation longer than this is a hang: TIFFIN_SPEC_TIMEOUT_MS, default 30 s. */
function specTimeoutMs(): number {
  const v = Number(process.env["TIFFIN_SPEC_TIMEOUT_MS"]);
  return Number.isFinite(v) && v > 0 ? v : 30_000;
}

class SpecTimeout extends Error {}

/** Bundles and runs the spec at `abs`; returns its default export. Throws TiffinError(SpecLoad). */
export async function evaluateModule(abs: string, opts: { timeoutMs?: number } = {}): Promise<unknown> {
  const timeoutMs = opts.timeoutMs ?? specTimeoutMs();
  const shown = displayPath(abs);
  const dir = mkdtempSync(join(tmpdir(), "tiffin-spec-"));
  try {
    const outfile = join(dir, "spec.mjs");
    const workDir = dirname(abs);
    let code: string;
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
      code = result.outputFiles.find((f) => f.path === outfile)?.text ?? "";
    } catch (err) {
      throw buildError(err, workDir, shown);
    }
    writeFileSync(outfile, code);
    const url = pathToFileURL(outfile).href;
    try {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new SpecTimeout()), timeoutMs);
        timer.unref();
      });
      try {
        const mod = (await Promise.race([import(url), late])) as { default?: unknown };
        return mod.default;
      } finally {
        clearTimeout(timer);
      }
    } catch (err) {
      if (err instanceof SpecTimeout) {
        throw loadError(
          `${shown}: the spec did not finish evaluating within ${timeoutMs} ms (a top-level await that never settles?)`,
          "a spec must compute its jobs and finish; TIFFIN_SPEC_TIMEOUT_MS changes the limit",
        );
      }
      const where = origin(err, url, sourceMapOf(code), dir) ?? shown;
      const what = err instanceof Error ? `${err.name === "Error" ? "" : `${err.name}: `}${err.message}` : String(err);
      throw loadError(`${where}: the spec threw while being evaluated: ${what}`, "fix the code at that line; a spec file runs once, at load");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
