// `tiffin init [DIR]`: a spec repository to start from, like `cargo new` or `npm init`: package.json
// with tiffin as a devDependency (the types of `import { job } from "tiffin"`), a standard tsconfig,
// an example job and a .gitignore. `npm install && npx tsc` then type-checks it, and `tiffin
// validate tiffin.ts` / `tiffin plan tiffin.ts` take it as it is. Never overwrites a file.

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import type { Command } from "commander";
import { tiffinVersion } from "../../api/version.ts";
import { ErrorCodes, TiffinError } from "../../model/errors.ts";
import type { CliContext } from "../command.ts";

/** The example job `tiffin init` writes: every line is something a user changes first. */
export const exampleSpec = `// A Tiffin spec: the default export is a job, or an array of jobs.
// Check it with \`npx tiffin validate tiffin.ts\`, see what it would do with \`npx tiffin plan tiffin.ts\`,
// run it with \`npx tiffin apply tiffin.ts\`. Hover a field in your editor for what it means.
import { job, http } from "tiffin";

export default job({
  name: "hello",
  // Each task gets its ports as PORT_<NAME>; \${PORT_HTTP} is expanded in the command too.
  command: ["python3", "-m", "http.server", "\${PORT_HTTP}"],
  replicas: 2,
  ports: ["http"],
  resources: { cpu: 0.25, memory: "128Mi" },
  health: http({ port: "http", path: "/", every: "5s" }),
  stop: { grace: "10s" },
});
`;

/** A package name npm takes, from a folder name ("My Specs" -> "my-specs"). */
export function packageName(dir: string): string {
  const name = basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[._-]+|-+$/g, "");
  return name === "" ? "tiffin-specs" : name;
}

/** The files of a new spec repository in `dir`, by name. */
export function scaffold(dir: string, version: string): Record<string, string> {
  const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
  return {
    "package.json": json({
      name: packageName(dir),
      private: true,
      type: "module",
      scripts: { check: "tsc -p . && tiffin validate tiffin.ts", plan: "tiffin plan tiffin.ts", apply: "tiffin apply tiffin.ts" },
      devDependencies: { tiffin: `^${version}`, typescript: "^6.0.0" },
    }),
    "tsconfig.json": json({
      compilerOptions: { target: "es2022", module: "nodenext", strict: true, noEmit: true, skipLibCheck: true },
      include: ["**/*.ts"],
      exclude: ["node_modules"],
    }),
    "tiffin.ts": exampleSpec,
    ".gitignore": "node_modules/\n",
  };
}

/** Writes the scaffold into `dir` (made if missing); refuses, writing nothing, if any file exists. */
export function initHandler(dir: string, version = tiffinVersion()): { dir: string; files: string[] } {
  const files = scaffold(dir, version);
  const taken = Object.keys(files).filter((f) => existsSync(join(dir, f)));
  if (taken.length > 0) {
    throw new TiffinError(ErrorCodes.Usage, `${dir} already has ${taken.join(", ")}; tiffin init writes nothing over existing files`, {
      hint: "run `tiffin init NEWDIR` for a new folder, or move those files away",
    });
  }
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { flag: "wx" });
  return { dir, files: Object.keys(files) };
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("init")
    .argument("[dir]", "folder of the new spec repository (made if missing)", ".")
    .description("scaffold a spec repository: package.json, tsconfig.json, an example job (tiffin.ts)")
    .action((dir: string) => {
      const done = initHandler(dir);
      const shown = relative(process.cwd(), resolve(dir)) || ".";
      const cd = shown === "." ? "" : `cd ${/^[\w./-]+$/.test(shown) ? shown : `'${shown.replaceAll("'", "'\\''")}'`} && `;
      ctx.io.out(`created ${done.files.map((f) => join(shown, f)).join(", ")}\nnext: ${cd}npm install && npx tsc -p . && npx tiffin validate tiffin.ts\n`);
    });
}
