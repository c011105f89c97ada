// Secret values on their way from the agent to a task, never on disk (issue 17). The agent writes an
// attempt's values into DIR/secrets.json under a tmpfs root of its own (/dev/shm/tiffin-UID by
// default); the helper reads and removes that file before the task starts, puts secret files in
// files/ there (owned by the task, 0400) and, for a sandbox, its config.json (which holds the env)
// until the runtime has started the container (it keeps its own copy in its 0700 state dir under /run).
// The directory goes when the task ends; if the helper dies first (kill -9), the agent removes it as
// soon as it finds the helper gone (attempts.ts, onGone), before it reports the attempt ended.
//
//   /dev/shm/tiffin-0/            0711, the agent's (a task run as another user must pass through)
//     <hash of attempt dir>/      0711
//       secrets.json              0600, until the helper has read it
//       config.json               0600, a sandbox's OCI config until it started (DIR/sandbox/config.json links here)
//       files/                    0500, the task's: bound read-only at work/secrets (or linked there)
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** The folder of a task's work directory where its secret files appear (`secretFiles`). */
export const SecretFilesDir = "secrets";

/** Where an agent of uid `uid` keeps secrets on their way by default: a tmpfs on every Linux. */
export function defaultSecretsRoot(uid = process.getuid?.() ?? 0): string {
  return path.join("/dev/shm", `tiffin-${uid}`);
}

/** The secrets directory of the attempt in `attemptDir` under `root` (unique per attempt directory). */
export function secretsDirOf(root: string, attemptDir: string): string {
  return path.join(root, createHash("sha256").update(path.resolve(attemptDir)).digest("hex").slice(0, 16));
}

/** The secret values as the helper reads them. */
export interface SecretsFile {
  env: Record<string, string>;
  files: Record<string, string>;
}

/**
 * Writes `values` into `dir`/secrets.json (0600), making `dir` and its parent (0711, this process's;
 * a parent that is not its own directory is refused: another user could read or swap what is there).
 */
export function writeSecrets(dir: string, values: SecretsFile): void {
  const root = path.dirname(dir);
  fs.mkdirSync(root, { recursive: true, mode: 0o711 });
  const st = fs.lstatSync(root);
  if (!st.isDirectory() || st.uid !== (process.getuid?.() ?? 0)) throw new Error(`${root} is not a directory of this user: secrets are not written there`);
  fs.chmodSync(root, 0o711);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { mode: 0o711 });
  fs.writeFileSync(path.join(dir, "secrets.json"), JSON.stringify(values), { mode: 0o600 });
}

/** Reads and removes `dir`/secrets.json; null when there is none (an adopted attempt: already read). */
export function takeSecrets(dir: string): SecretsFile | null {
  const file = path.join(dir, "secrets.json");
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
  fs.rmSync(file, { force: true });
  const v: unknown = JSON.parse(text);
  const o = typeof v === "object" && v !== null ? v : {};
  return { env: stringsOf("env" in o ? o.env : undefined), files: stringsOf("files" in o ? o.files : undefined) };
}

/** The string entries of a JSON object (the helper loads no zod: the agent wrote this file, so a
 * field of another shape is a defect, dropped here rather than handed to the task). */
function stringsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  return out;
}

/** Writes the secret files into `dir`/files (0500 dir, 0400 files, owned by `owner`); returns that dir. */
export function writeSecretFiles(dir: string, files: Record<string, string>, owner: { uid: number; gid: number }): string {
  const out = path.join(dir, "files");
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { mode: 0o700 });
  for (const [rel, content] of Object.entries(files)) {
    const file = path.resolve(out, rel);
    if (!file.startsWith(out + path.sep)) throw new Error(`secret file "${rel}" is outside work/secrets`);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, content, { mode: 0o400 });
    fs.chownSync(file, owner.uid, owner.gid);
  }
  chownDirs(out, owner);
  return out;
}

/** Every directory from `dir` down: the task's, read-only (0500). */
function chownDirs(dir: string, owner: { uid: number; gid: number }): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) chownDirs(path.join(dir, e.name), owner);
  fs.chmodSync(dir, 0o500);
  fs.chownSync(dir, owner.uid, owner.gid);
}

/** Removes an attempt's secrets directory (quiet when it is gone). */
export function removeSecrets(dir: string): void {
  try {
    fs.chmodSync(path.join(dir, "files"), 0o700); // 0500: an agent that is not root could not empty it
  } catch {
    // no files, or no dir at all
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
