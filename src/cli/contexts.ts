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
  /** The namespace commands act in with this context (`--namespace`, `context set-namespace`). */
  namespace?: string;
}

/** `contexts.json`: named contexts; one not of the shape reads as null (then left out). */
const contextsFileSchema = z.object({
  contexts: z.record(z.string(), z.object({ addr: z.string(), token: z.string(), ca: z.string().optional(), namespace: z.string().optional() }).nullable().catch(null)).optional(),
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
    for (const [name, c] of Object.entries(r.data.contexts ?? {})) if (c !== null) out[name] = { addr: c.addr, token: c.token, ...(c.ca !== undefined ? { ca: c.ca } : {}), ...(c.namespace !== undefined ? { namespace: c.namespace } : {}) };
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
  /** The namespace the context acts in ("default" when it names none). */
  namespace: string;
}

/** The named contexts and which is current: the one `use` named, or one with the current file's addr and token. */
export function listContexts(env: Record<string, string | undefined>): ContextRow[] {
  const current = readContext(contextPath(env));
  const all = readContexts(contextsPath(env));
  const rows = Object.entries(all)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, c]) => ({ name, addr: c.addr, current: current !== null && (current.name === name || (current.name === undefined && sameTarget(current, c))), namespace: (current?.name === name ? current.namespace : c.namespace) ?? "default" }));
  // The current file may come from `tiffin dev` (or an older client): show it rather than hide it.
  if (current !== null && !rows.some((r) => r.current)) rows.push({ name: current.devPid !== undefined ? "(tiffin dev)" : "(unnamed)", addr: current.addr, current: true, namespace: current.namespace ?? "default" });
  return rows;
}

function sameTarget(a: { addr: string; token: string }, b: NamedContext): boolean {
  return normalizeAddrs(a.addr) === normalizeAddrs(b.addr) && a.token === b.token;
}

/** Adds or replaces a named context. */
export function addContext(env: Record<string, string | undefined>, name: string, c: NamedContext): void {
  if (!contextNamePattern.test(name)) throw new TiffinError(ErrorCodes.Usage, `"${name}" cannot name a context`, { hint: "use letters, digits, '.', '_' and '-', e.g. prod or eu-west" });
  const path = contextsPath(env);
  writeContexts(path, { ...readContexts(path), [name]: { addr: normalizeAddrs(c.addr), token: c.token, ...(c.ca !== undefined ? { ca: c.ca } : {}), ...(c.namespace !== undefined ? { namespace: c.namespace } : {}) } });
}

/** Makes a named context current (copied into the context file every command reads). */
export function useContext(env: Record<string, string | undefined>, name: string): NamedContext {
  const c = namedContext(env, name);
  writeContext(contextPath(env), { addr: c.addr, token: c.token, name, ...(c.ca !== undefined ? { ca: c.ca } : {}), ...(c.namespace !== undefined ? { namespace: c.namespace } : {}) });
  return c;
}

/** Sets the namespace of the current context (and of the named context it came from), as kubectl's
 * `config set-context --current --namespace`; "default" clears it. Returns the context's name, if any. */
export function setContextNamespace(env: Record<string, string | undefined>, namespace: string): string | null {
  const path = contextPath(env);
  const current = readContext(path);
  if (current === null) throw new TiffinError(ErrorCodes.Usage, "there is no current context to set a namespace in", { hint: "`tiffin context use NAME` first (or `tiffin context add NAME ... --namespace NS --use`); for one command, -n NS or TIFFIN_NAMESPACE" });
  const { namespace: _old, ...rest } = current;
  const ns = namespace === "default" ? {} : { namespace };
  writeContext(path, { ...rest, ...ns });
  if (current.name !== undefined) {
    const all = readContexts(contextsPath(env));
    const named = all[current.name];
    if (named !== undefined) {
      const { namespace: _was, ...keep } = named;
      writeContexts(contextsPath(env), { ...all, [current.name]: { ...keep, ...ns } });
    }
  }
  return current.name ?? null;
}

/** Sets the pinned CAs (a PEM bundle) of the current context and of the named context it came from
 * (`tiffin context refresh-ca`, after a CA rotation). Returns the context's name, if any. */
export function setContextCa(env: Record<string, string | undefined>, ca: string): string | null {
  const path = contextPath(env);
  const current = readContext(path);
  if (current === null) throw new TiffinError(ErrorCodes.Usage, "there is no current context to refresh the CA of", { hint: "`tiffin context use NAME` first" });
  writeContext(path, { ...current, ca });
  if (current.name !== undefined) {
    const all = readContexts(contextsPath(env));
    const named = all[current.name];
    if (named !== undefined) writeContexts(contextsPath(env), { ...all, [current.name]: { ...named, ca } });
  }
  return current.name ?? null;
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
