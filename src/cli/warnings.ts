// Node prints "ExperimentalWarning: SQLite is an experimental feature" the first time node:sqlite is
// loaded. Users of `tiffin server` and `tiffin dev` should not see it on every start. We replace
// Node's default `warning` listener with one that drops only that warning and prints the rest the
// way Node would. This module must be imported before anything that loads node:sqlite; main.ts
// imports it first and loads the server lazily. (Re-executing with --disable-warning would cost a
// second process start on every command, ~40 ms, for the same effect.)

/** True for the warnings Tiffin silences. */
export function isSilenced(w: Error): boolean {
  return w.name === "ExperimentalWarning" && /SQLite/i.test(w.message);
}

/** Installs the filter once per process. */
export function silenceExperimentalSqliteWarning(): void {
  const marker = Symbol.for("tiffin.warningFilter");
  const proc = process as unknown as Record<symbol, boolean>;
  if (proc[marker]) return;
  proc[marker] = true;
  process.removeAllListeners("warning");
  process.on("warning", (w) => {
    if (isSilenced(w)) return;
    process.stderr.write(`(node:${process.pid}) ${w.name}: ${w.message}\n`);
  });
}

silenceExperimentalSqliteWarning();
