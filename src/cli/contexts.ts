// Named contexts, as kubectl's: `$TIFFIN_HOME/contexts.json` maps a name to a server address and
// token (0600: it holds admin tokens). `tiffin context use NAME` copies one into the current context
// file (context.json, which every command reads and `tiffin dev` takes over while it runs), marked
// with its name; `--context NAME` picks one for a single command.

import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ErrorCodes, TiffinError } from "../model/errors.ts";
import { contextPath, normalizeAddrs, readContext, tiffinHome, writeContext, writePrivateJson } from "./context.ts";

/** One named context. */
export interface NamedContext {
  addr: string;
  token: string;
  /** The cluster CA (PEM) pinned by `context add --ca-hash`: HTTPS trusts only it. */
  ca?: string;
}

/** `contexts.json`: named contexts; one not of the shape reads as null (then left out). */
const contextsFileSchema = z.object({
  contexts: z.record(z.string(), z.object({ addr: z.string(), token: z.string(), ca: z.string().optional() }).nullable().catch(null)).optional(),
});

/** Context names: short, shell-safe. */
export const contextNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Path of the named contexts file. */
export function contextsPath(env: Record<string, string | undefined>): string {
  return join(tiffinHome(env), "contexts.json");
}

/** The named contexts; none when the file is missing. A file that is not ours is an error, not lost data. */
export function readContexts(path: string): Record<string, NamedContext> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return {};
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  const r = contextsFileSchema.safeParse(v);
  if (r.success) {
    const out: Record<string, NamedContext> = {};
    // A context that is not of the shape is left out, the others kept.
    for (const [name, c] of Object.entries(r.data.contexts ?? {})) if (c !== null) out[name] = { addr: c.addr, token: c.token, ...(c.ca !== undefined ? { ca: c.ca } : {}) };
    return out;
  }
  throw new TiffinError(ErrorCodes.Usage, `${path} is not a contexts file (${v === undefined ? "not JSON" : "expected {contexts: {NAME: {addr, token}}}"})`, { hint: `fix or remove ${path}; \`tiffin context add\` writes a new one` });
}

/** Writes the named contexts atomically, owner-only. */
export function writeContexts(path: string, contexts: Record<string, NamedContext>): void {
  writePrivateJson(path, { contexts });
}

/** The named context, or a usage error listing the names there are. */
export function namedContext(env: Record<string, string | undefined>, name: string): NamedContext & { name: string } {
  const path = contextsPath(env);
  const all = readContexts(path);
  const c = all[name];
  if (!c) {
    const names = Object.keys(all);
    throw new TiffinError(ErrorCodes.Usage, `no context named "${name}" in ${path}`, {
      hint: names.length > 0 ? `known contexts: ${names.join(", ")}; add one with \`tiffin context add ${name} --server URL --token-file FILE\`` : `add one with \`tiffin context add ${name} --server URL --token-file FILE\``,
    });
  }
  return { name, ...c };
}

/** One row of `tiffin context list`. */
export interface ContextRow {
  name: string;
  addr: string;
  current: boolean;
}

/** The named contexts and which is current: the one `use` named, or one with the current file's addr and token. */
export function listContexts(env: Record<string, string | undefined>): ContextRow[] {
  const current = readContext(contextPath(env));
  const all = readContexts(contextsPath(env));
  const rows = Object.entries(all)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, c]) => ({ name, addr: c.addr, current: current !== null && (current.name === name || (current.name === undefined && sameTarget(current, c))) }));
  // The current file may come from `tiffin dev` (or an older client): show it rather than hide it.
  if (current !== null && !rows.some((r) => r.current)) rows.push({ name: current.devPid !== undefined ? "(tiffin dev)" : "(unnamed)", addr: current.addr, current: true });
  return rows;
}

function sameTarget(a: { addr: string; token: string }, b: NamedContext): boolean {
  return normalizeAddrs(a.addr) === normalizeAddrs(b.addr) && a.token === b.token;
}

/** Adds or replaces a named context. */
export function addContext(env: Record<string, string | undefined>, name: string, c: NamedContext): void {
  if (!contextNamePattern.test(name)) throw new TiffinError(ErrorCodes.Usage, `"${name}" cannot name a context`, { hint: "use letters, digits, '.', '_' and '-', e.g. prod or eu-west" });
  const path = contextsPath(env);
  writeContexts(path, { ...readContexts(path), [name]: { addr: normalizeAddrs(c.addr), token: c.token, ...(c.ca !== undefined ? { ca: c.ca } : {}) } });
}

/** Makes a named context current (copied into the context file every command reads). */
export function useContext(env: Record<string, string | undefined>, name: string): NamedContext {
  const c = namedContext(env, name);
  writeContext(contextPath(env), { addr: c.addr, token: c.token, name, ...(c.ca !== undefined ? { ca: c.ca } : {}) });
  return c;
}

/** Removes a named context; when it was current, the current context file goes too. Returns whether it was current. */
export function removeContext(env: Record<string, string | undefined>, name: string): boolean {
  const path = contextsPath(env);
  const all = readContexts(path);
  namedContext(env, name);
  const wasCurrent = listContexts(env).some((r) => r.name === name && r.current);
  delete all[name];
  writeContexts(path, all);
  if (wasCurrent) rmSync(contextPath(env), { force: true });
  return wasCurrent;
}
