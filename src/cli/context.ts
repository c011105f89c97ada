// Which server a command talks to, and with which token: --addr/--token, else TIFFIN_ADDR/TIFFIN_TOKEN,
// else the context file `tiffin dev` writes ($TIFFIN_HOME/context.json, default ~/.tiffin/context.json).

import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { splitAddrs } from "../api/client.ts";
import { readJsonAs } from "../model/index.ts";

/** The address used when nothing says otherwise (the default of `tiffin server` and `tiffin dev`). */
export const defaultAddr = "http://127.0.0.1:7070";

/** What `tiffin dev` leaves for later commands. */
export interface ContextFile {
  addr: string;
  token: string;
  /** The `tiffin dev` that wrote it (dev/context-handover.ts: whose context comes back when it stops). */
  devPid?: number;
  /** The named context `tiffin context use` copied here (contexts.ts). */
  name?: string;
  /** The cluster CA (PEM) pinned for an https server (`tiffin context add --ca-hash`). */
  ca?: string;
  /** The namespace commands act in (`tiffin context set-namespace`, `context add --namespace`). */
  namespace?: string;
}

/** The context file as read: addr and token must be strings; a mistyped optional field is dropped. */
export const contextFileSchema = z.object({
  addr: z.string(),
  token: z.string(),
  devPid: z.number().int().positive().optional().catch(undefined),
  name: z.string().optional().catch(undefined),
  ca: z.string().optional().catch(undefined),
  namespace: z.string().optional().catch(undefined),
});

/** The resolved target of a command, and where each half came from (shown on auth errors). */
export interface Target {
  /** One server URL, or several comma-separated (the client moves to the next when one fails). */
  addr: string;
  token: string | null;
  addrFrom: "flag" | "env" | "context" | "default";
  tokenFrom: "flag" | "env" | "context" | "none";
  /** The cluster CA (PEM) the context pinned for this address: HTTPS trusts only it. */
  ca?: string;
  /** The namespace job commands act in: -n/--namespace, else TIFFIN_NAMESPACE, else the context's
   * (with its own address, as its token), else "default"; `*` with -A/--all-namespaces. */
  namespace?: string;
}

/** Tiffin's per-user directory: $TIFFIN_HOME, default ~/.tiffin. */
export function tiffinHome(env: Record<string, string | undefined>): string {
  return env["TIFFIN_HOME"] || join(env["HOME"] || homedir(), ".tiffin");
}

/** Path of the context file. */
export function contextPath(env: Record<string, string | undefined>): string {
  return join(tiffinHome(env), "context.json");
}

/** Reads the context file; null when it is missing or unreadable (a broken file is ignored, not fatal). */
export function readContext(path: string): ContextFile | null {
  try {
    const v = readJsonAs(contextFileSchema, readFileSync(path, "utf8"));
    if (v === null) return null;
    return {
      addr: v.addr,
      token: v.token,
      ...(v.name !== undefined ? { name: v.name } : {}),
      ...(v.devPid !== undefined ? { devPid: v.devPid } : {}),
      ...(v.ca !== undefined ? { ca: v.ca } : {}),
      ...(v.namespace !== undefined ? { namespace: v.namespace } : {}),
    };
  } catch {
    return null;
  }
}

/** Writes the context file atomically, readable only by its owner (it holds the admin token). */
export function writeContext(path: string, ctx: ContextFile): void {
  writePrivateJson(path, ctx);
}

/** Writes JSON atomically, readable only by its owner (context files hold admin tokens). */
export function writePrivateJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * Resolves addr and token: flag, then environment, then the context file. The context's token is
 * used only with the context's own address, so pointing --addr elsewhere never leaks it.
 */
export function resolveTarget(
  flags: { addr?: string | undefined; token?: string | undefined; namespace?: string | undefined },
  env: Record<string, string | undefined>,
  context: ContextFile | null,
): Target {
  const t = resolveServer(flags, env, context);
  const own = context !== null && normalizeAddrs(context.addr) === t.addr ? context.namespace : undefined;
  const namespace = flags.namespace ?? (env["TIFFIN_NAMESPACE"] || undefined) ?? own;
  return namespace === undefined ? t : { ...t, namespace };
}

function resolveServer(flags: { addr?: string | undefined; token?: string | undefined }, env: Record<string, string | undefined>, context: ContextFile | null): Target {
  let addr: string;
  let addrFrom: Target["addrFrom"];
  if (flags.addr) [addr, addrFrom] = [flags.addr, "flag"];
  else if (env["TIFFIN_ADDR"]) [addr, addrFrom] = [env["TIFFIN_ADDR"], "env"];
  else if (context) [addr, addrFrom] = [context.addr, "context"];
  else [addr, addrFrom] = [defaultAddr, "default"];
  addr = normalizeAddrs(addr);
  // The pinned CA goes with the context's own address, as its token does.
  const pinned = context?.ca !== undefined && normalizeAddrs(context.addr) === addr ? { ca: context.ca } : {};

  if (flags.token) return { addr, token: flags.token, addrFrom, tokenFrom: "flag", ...pinned };
  if (env["TIFFIN_TOKEN"]) return { addr, token: env["TIFFIN_TOKEN"], addrFrom, tokenFrom: "env", ...pinned };
  if (context && normalizeAddrs(context.addr) === addr) return { addr, token: context.token, addrFrom, tokenFrom: "context", ...pinned };
  return { addr, token: null, addrFrom, tokenFrom: "none", ...pinned };
}

/**
 * Why one normalized server address cannot be used, or null when it can: it must parse as a URL
 * with the http or https scheme, a host, and no credentials, query or fragment.
 */
export function addrProblem(addr: string): string | null {
  let u: URL;
  try {
    u = new URL(addr);
  } catch {
    return "not a URL";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return `scheme ${u.protocol.replace(/:$/, "")} is not http or https`;
  if (u.hostname === "") return "no host";
  if (u.username !== "" || u.password !== "") return "credentials belong in --token, not the address";
  if (u.search !== "" || u.hash !== "") return "a query or fragment has no place in a server address";
  return null;
}

/** `a:1, http://b:2/` -> `http://a:1,http://b:2`: each address normalized, comma-joined. */
export function normalizeAddrs(addrs: string): string {
  return splitAddrs(addrs).join(",");
}
