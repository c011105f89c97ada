// What every command file gets: output, the API client for the resolved target, and a way to wait
// for the process to be told to stop. Command files export a handler (returns data), a renderer
// (data -> text) and `register`, so handlers and renderers are tested without a process.

import { userInfo } from "node:os";
import type { Command } from "commander";
import { NodeApiClient } from "../api/node-client.ts";
import { ErrorCodes, TiffinError } from "../model/errors.ts";
import { AllNamespaces, isNamespace } from "../model/namespace.ts";
import type { CliIo } from "./io.ts";
import { addrProblem, contextPath, readContext, resolveTarget } from "./context.ts";
import type { Target } from "./context.ts";
import { namedContext } from "./contexts.ts";

/** Shared state of one CLI run. */
export interface CliContext {
  io: CliIo;
  /** Addr and token from the global options, environment and context file. */
  target(): Target;
  /** A client for `target()`. */
  client(): NodeApiClient;
  /** Marks this run as a daemon (server, agent, helper, dev): main makes sure the process exits after it. */
  daemon(): void;
  /** The exit code when the action returns normally (default 0). */
  setExitCode(code: number): void;
  /** Resolves when stdout's reader went away. main ends any other command then, quietly; a daemon
   * keeps running (`tiffin dev` stops its cluster cleanly, as on SIGTERM). Never resolves in tests. */
  outputClosed: Promise<void>;
}

/** What main reads back after the action ran. */
export interface RunState {
  exitCode: number;
  daemon: boolean;
}

/** A fetch over HTTPS trusting only the pinned CA; the TLS code loads on the first call (plain-HTTP commands never load it). */
function pinnedFetch(ca: string): typeof fetch {
  let f: Promise<typeof fetch> | null = null;
  return async (input, init) => {
    f ??= import("../api/tls.ts").then((m) => m.tlsFetch({ ca }));
    return (await f)(input, init);
  };
}

/** Builds the context; global options are read lazily, after commander has parsed them. */
export function makeContext(program: Command, io: CliIo, state: RunState): CliContext {
  // The command whose action runs: its -n (or its parent's, `rollout -n NS status`) names the namespace.
  let acting: Command | null = null;
  program.hook("preAction", (_program, action) => void (acting = action));
  const target = (): Target => {
    const opts = program.opts<{ addr?: string; token?: string; context?: string; namespace?: string; allNamespaces?: boolean }>();
    // --context NAME (or TIFFIN_CONTEXT) stands in for the current context file, for this command only.
    const named = opts.context ?? io.env["TIFFIN_CONTEXT"];
    const namespace = opts.allNamespaces === true ? AllNamespaces : (namespaceFlag(acting) ?? opts.namespace);
    if (namespace !== undefined && namespace !== AllNamespaces && !isNamespace(namespace)) {
      throw new TiffinError(ErrorCodes.Usage, `"${namespace}" is not a namespace name`, { hint: "a DNS label (a-z, 0-9 and '-'), e.g. -n team-a; -n '*' or -A lists every namespace" });
    }
    const t = resolveTarget({ ...opts, namespace }, io.env, named ? namedContext(io.env, named) : readContext(contextPath(io.env)));
    checkAddrs(t, contextPath(io.env));
    return t;
  };
  return {
    io,
    target,
    client: () => {
      const t = target();
      return new NodeApiClient({ addr: t.addr, token: t.token, ...(t.ca !== undefined ? { fetch: pinnedFetch(t.ca), ca: t.ca } : {}), ...(t.namespace !== undefined ? { namespace: t.namespace } : {}) });
    },
    daemon: () => void (state.daemon = true),
    setExitCode: (code) => void (state.exitCode = code),
    outputClosed: new Promise<void>((resolve) => io.onOutputClosed?.(resolve)),
  };
}

/** The -n/--namespace of `cmd` or of the nearest parent that got one (the program's own is apart). */
function namespaceFlag(cmd: Command | null): string | undefined {
  for (let c = cmd; c !== null && c.parent !== null; c = c.parent) {
    const ns = c.opts<{ namespace?: string }>().namespace;
    if (ns !== undefined) return ns;
  }
  return undefined;
}

/** Throws a usage error (exit 2) naming the address and where it came from when one cannot be used:
 * a malformed --addr is the user's to fix, not a failed request or a bug. */
export function checkAddrs(t: Target, contextFile: string): void {
  const from = { flag: "--addr", env: "TIFFIN_ADDR", context: `the context file ${contextFile}`, default: "the default address" }[t.addrFrom];
  for (const a of t.addr.split(",")) {
    const problem = addrProblem(a);
    if (problem === null) continue;
    throw new TiffinError(ErrorCodes.Usage, `server address "${a}" from ${from} cannot be used: ${problem}`, {
      hint: "give http://HOST:PORT or HOST:PORT (several comma-separated), e.g. --addr http://10.0.0.5:7070",
    });
  }
}

/** Rewrites the hint of an Unauthorized error to say which token was sent and how to pick another. */
export function withAuthHint(err: unknown, t: Target): unknown {
  if (!(err instanceof TiffinError) || err.code !== ErrorCodes.Unauthorized) return err;
  const hint =
    t.tokenFrom === "none"
      ? "no token given: set TIFFIN_TOKEN or --token to the server's admin token (DATA/admin.token), or run `tiffin dev`"
      : `the token came from ${t.tokenFrom === "context" ? "the `tiffin dev` context file" : t.tokenFrom === "env" ? "TIFFIN_TOKEN" : "--token"}; use the admin token of the server at ${t.addr} or a live one from \`tiffin token create\``;
  return new TiffinError(err.code, err.message, { hint, problems: err.problems });
}

/** Resolves when the process gets one of `signals`, with the signal's name. */
export function waitForSignal<S extends NodeJS.Signals>(signals: readonly S[]): { promise: Promise<S>; dispose(): void } {
  let dispose = (): void => undefined;
  const promise = new Promise<S>((resolve) => {
    const handlers = signals.map((s) => {
      const h = (): void => resolve(s);
      process.on(s, h);
      return [s, h] as const;
    });
    // A child of `tiffin dev` (ParentPidEnv set) stops as on SIGINT once that process is gone, even
    // killed with SIGKILL (its own clean-up never ran): it was re-parented, so ppid changed. SIGINT,
    // not SIGTERM: an agent stops its tasks on SIGINT only (SIGTERM leaves them for a new agent).
    const parent = Number(process.env[ParentPidEnv] ?? "");
    const sigint = signals.find((s) => s === "SIGINT");
    const watch = Number.isSafeInteger(parent) && parent > 1 && sigint !== undefined && signals.some((s) => s === "SIGTERM")
      ? setInterval(() => process.ppid !== parent && resolve(sigint), ParentPollMs).unref()
      : null;
    dispose = () => {
      handlers.forEach(([s, h]) => process.off(s, h));
      if (watch) clearInterval(watch);
    };
  });
  return { promise, dispose: () => dispose() };
}

/** Set by `tiffin dev` for its server and agents: the pid they stop with (see waitForSignal). */
export const ParentPidEnv = "TIFFIN_PARENT_PID";
/** How often `tiffin dev`'s children look for their parent (tests bound their stop by it). */
export const ParentPollMs = 500;

/** Adds `--json` to a listing command. */
export function jsonOption(cmd: Command): Command {
  return cmd.option("--json", "print JSON for scripts instead of a table");
}

/** Who applies, as versions record it: `TIFFIN_USER`, else the OS user name (a claim the server
 * stores as given; with one admin token it cannot verify it). */
export function appliedBy(env: Record<string, string | undefined>): string | null {
  const fromEnv = env["TIFFIN_USER"];
  if (fromEnv) return fromEnv;
  try {
    return userInfo().username;
  } catch {
    return null; // a uid without a passwd entry (some containers)
  }
}
