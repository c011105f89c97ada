// The SQLite files are private (0600): state.db holds the admin, join and host tokens. SQLite creates a
// database file with 0644 (less the umask) and gives its -wal and -shm files the database file's
// mode, so the files are made 0600 before SQLite opens them, and files left 0644 by an older Tiffin
// are narrowed.

import fs from "node:fs";
import { PrivateModes } from "../model/index.ts";

/** The database file, its lock database, and the journals SQLite keeps beside each. */
function filesOf(path: string): string[] {
  return [path, `${path}.lock`].flatMap((p) => [p, `${p}-wal`, `${p}-shm`, `${p}-journal`]);
}

/** Creates `path` and `path.lock` 0600 if missing and narrows every SQLite file of them to 0600. */
export function privateSqliteFiles(path: string): void {
  for (const p of [path, `${path}.lock`]) fs.closeSync(fs.openSync(p, fs.constants.O_CREAT | fs.constants.O_RDWR, PrivateModes.file));
  for (const p of filesOf(path)) {
    try {
      if ((fs.statSync(p).mode & 0o077) !== 0) fs.chmodSync(p, PrivateModes.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
}
