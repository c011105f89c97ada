// Where in the user's files an error came from, and what it said, for the spec evaluator child: a
// stack frame in the bundle is mapped back through the bundle's inline source map.
import { SourceMap } from "node:module";
import { relative, resolve } from "node:path";

/** A path for messages: relative to the working directory when that is shorter. */
export function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel !== "" && !rel.startsWith("..") ? rel : abs;
}

/** The inline source map of a bundle, or null. */
export function sourceMapOf(code: string): SourceMap | null {
  const m = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/.exec(code);
  if (!m?.[1]) return null;
  return new SourceMap(JSON.parse(Buffer.from(m[1], "base64").toString("utf8")) as ConstructorParameters<typeof SourceMap>[0]);
}

/** Maps stack traces of a bundle served at `bundleUrl` (source paths relative to `bundleDir`). */
export interface Origins {
  /** `file:line` of the first frame of `stack` in the user's files, or null. */
  of(stack: string): string | null;
}

/** Origins for one bundle. */
export function origins(bundleUrl: string, code: string, bundleDir: string): Origins {
  let map: SourceMap | null | undefined;
  return {
    of(stack) {
      for (const line of stack.split("\n")) {
        const at = line.indexOf(bundleUrl);
        if (at < 0) continue;
        const m = /^:(\d+):(\d+)/.exec(line.slice(at + bundleUrl.length));
        if (!m) continue;
        map ??= sourceMapOf(code);
        if (!map) return null;
        const o = map.findOrigin(Number(m[1]), Number(m[2]));
        if ("fileName" in o) return `${displayPath(resolve(bundleDir, o.fileName))}:${o.lineNumber}`;
      }
      return null;
    },
  };
}

/** The stack of a thrown value, "" when it has none (or reading it throws). */
export function stackOf(err: unknown): string {
  try {
    return err instanceof Error && typeof err.stack === "string" ? err.stack : "";
  } catch {
    return "";
  }
}

/** A thrown value in words, whatever it is: `TypeError: bad`, `7`, `null`, `an object that cannot be shown`. */
export function describeThrown(err: unknown): string {
  try {
    if (err instanceof Error) return `${err.name === "Error" ? "" : `${String(err.name)}: `}${String(err.message)}`;
    if (typeof err === "string") return JSON.stringify(err);
    if (typeof err === "symbol") return err.toString();
    if (typeof err !== "object" || err === null) return String(err);
    return `an object ${JSON.stringify(err) ?? ""}`.trim();
  } catch {
    return "a value that cannot be shown";
  }
}
