// Layout templates (../helper/sandbox-private.ts `layoutTemplate`, DATA/layouts/<key>) are made per
// owner, and since each job runs in a user id range of its own (userns-ranges.ts), one per job: without
// collection a host keeps one (~70 directories) for every job it ever ran. The helper touches a template
// each time a start uses it; one untouched for `keepMs` goes (a later start makes it again, ~100 ms).
import fs from "node:fs";
import path from "node:path";

/** Removes the templates under `cacheDir` (and half-made ones) untouched for `keepMs`; returns their names. */
export async function pruneLayouts(cacheDir: string, now: number, keepMs: number): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fs.promises.readdir(cacheDir).catch(() => [] as string[])) {
    if (name.startsWith(".gc-")) await fs.promises.rm(path.join(cacheDir, name), { recursive: true, force: true }); // a pass cut short
    if (!/^\.?[0-9a-f]{16}(-\w+)?$/.test(name)) continue;
    const p = path.join(cacheDir, name);
    const st = await fs.promises.lstat(p).catch(() => null);
    if (st === null || !st.isDirectory() || now - st.mtimeMs < keepMs) continue;
    // Renamed first: a start that finds no template makes a new one rather than use a half-removed one.
    const trash = path.join(cacheDir, `.gc-${name.replace(/^\./, "")}-${process.pid}`);
    try {
      await fs.promises.rename(p, trash);
    } catch {
      continue;
    }
    await fs.promises.rm(trash, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
