// The entry point of the single executable (packaging/sea/build.ts bundles it, with everything it
// imports, into one CommonJS file). Node puts the executable's path in argv[0] and argv[1], as if it
// were a script: the command line starts at argv[2], as for bin/tiffin.js.
import { main } from "./main.ts";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tiffin: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
