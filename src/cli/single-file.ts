// The entry point of the single executable (packaging/sea/build.ts bundles it, with everything it
// imports, into one CommonJS file). Node puts the executable's path in argv[0] and argv[1], as if it
// were a script: the command line starts at argv[2], as for bin/tiffin.js.
//
// A helper (`tiffin helper DIR`, or `tiffin helper --pool SOCKET --max K DIR`, as the agent starts
// it) loads the helper's modules alone, not the CLI's: the bundle initializes a module only when it
// is first imported, and the CLI's (commander, the API client's schemas, the server) would cost every
// helper process many MiB.
const args = process.argv.slice(2);

function fail(err: unknown): void {
  process.stderr.write(`tiffin: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}

async function helper(rest: string[]): Promise<number> {
  const { parseHelperArgv, runHelper, runPool } = await import("../helper/main.ts");
  const parsed = parseHelperArgv(rest);
  if ("problem" in parsed) {
    process.stderr.write(`tiffin helper: ${parsed.problem}\n`);
    return 2;
  }
  return parsed.pool ? runPool({ ...parsed.pool, first: parsed.dir }) : runHelper(parsed.dir);
}

async function cli(): Promise<number> {
  const { main } = await import("./main.ts");
  return main(args);
}

// Only the agent's exact forms take the short way; `tiffin helper --help` and the like go to the CLI.
const helperForm = args[0] === "helper" && (args.length === 2 ? !args[1]!.startsWith("-") : args.length === 6 && args[1] === "--pool");
(helperForm ? helper(args.slice(1)).then((code) => process.exit(code)) : cli().then((code) => void (process.exitCode = code))).catch(fail);
