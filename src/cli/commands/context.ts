// `tiffin context list|use|add|remove|set-namespace`: named servers, as kubectl's contexts (contexts.ts). The
// current one is what every command uses unless --addr, TIFFIN_ADDR or --context say otherwise.

import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { CliContext } from "../command.ts";
import { splitAddrs } from "../../api/client.ts";
import { addrProblem } from "../context.ts";
import { addContext, contextsPath, listContexts, removeContext, setContextCa, setContextNamespace, useContext } from "../contexts.ts";
import { refreshCa } from "./ca-refresh.ts";
import { isNamespace } from "../../model/index.ts";
import type { ContextRow } from "../contexts.ts";
import { usageError } from "../errors.ts";
import { outputFormat, outputOption, renderOutput } from "../output.ts";
import type { OutputOpts } from "../output.ts";
import { renderTable } from "../table.ts";

/** The table of `tiffin context list`: the current one marked with `*`. */
export function renderContexts(rows: ContextRow[]): string {
  if (rows.length === 0) return "no contexts: add one with `tiffin context add NAME --server URL --token-file FILE`\n";
  // The namespace only once some context names one (`--json` always has it).
  const ns = rows.some((r) => r.namespace !== "default");
  return renderTable(["current", "name", "addr", ...(ns ? ["namespace"] : [])], rows.map((r) => [r.current ? "*" : "", r.name, r.addr, ...(ns ? [r.namespace] : [])]));
}

/** Adds the command and its subcommands. */
export function register(program: Command, ctx: CliContext): void {
  const context = program.command("context").description("named servers: list, use, add, remove (as kubectl's contexts)");
  outputOption(context
    .command("list")
    .alias("ls")
    .description("list the named contexts; * marks the current one"))
    .action((opts: OutputOpts) => {
      const format = outputFormat(opts);
      const rows = listContexts(ctx.io.env);
      ctx.io.out(renderOutput(format, rows, () => renderContexts(rows)));
    });
  context
    .command("use")
    .argument("<name>", "a context from `tiffin context list`")
    .description("make a named context the current one")
    .action((name: string) => {
      const c = useContext(ctx.io.env, name);
      ctx.io.out(`using context ${name} (${c.addr})\n`);
    });
  context
    .command("add")
    .argument("<name>", "a name such as prod or eu-west")
    // Not --addr: commander gives the program's global --addr every --addr on the line.
    .requiredOption("--server <url,...>", "the server's address, or several comma-separated")
    // --token is the program's global option (commander hands it every --token on the line): read there.
    .option("--token-file <file>", "a file holding its admin token (the server's DATA/admin.token)")
    .option("--use", "make it the current context too")
    .option("--ca-hash <sha256:hex>", "for an https server: the cluster CA's hash (the server prints it at start); the CA is pinned in the context only if the server presents it")
    .description("add (or replace) a named context: --server URL and --token TOKEN or --token-file FILE (https: --ca-hash)")
    .action(async (name: string, opts: { server: string; tokenFile?: string; use?: boolean; caHash?: string }) => {
      const { token: given, namespace } = program.opts<{ token?: string; namespace?: string }>();
      if (namespace !== undefined && !isNamespace(namespace)) throw usageError(`"${namespace}" is not a namespace name`, "a DNS label: a-z, 0-9 and '-', e.g. --namespace team-a");
      if ((given === undefined) === (opts.tokenFile === undefined)) throw usageError("give the token with --token or --token-file (one of them)", "e.g. tiffin context add prod --server http://10.0.0.5:7070 --token-file admin.token");
      let token = given ?? "";
      if (opts.tokenFile !== undefined) {
        try {
          token = readFileSync(opts.tokenFile, "utf8").trim();
        } catch (err) {
          throw usageError(`cannot read the token file ${opts.tokenFile}: ${(err as Error).message}`, "give the path of the server's admin.token (or --token)");
        }
      }
      for (const a of splitAddrs(opts.server)) {
        const problem = addrProblem(a);
        if (problem !== null) throw usageError(`server address "${a}" from --server cannot be used: ${problem}`, "give http://HOST:PORT or HOST:PORT (several comma-separated)");
      }
      // HTTPS: the CA is taken from the server's handshake only if its hash is the one given, before the token is ever sent.
      const https = splitAddrs(opts.server).filter((a) => a.startsWith("https://"));
      if (https.length > 0 && opts.caHash === undefined) throw usageError(`${https[0] ?? ""} is an https server: give the cluster CA's hash with --ca-hash`, "the server prints it at start (`TLS: cluster CA sha256:...`), and it is in its log as caHash");
      let ca: string | undefined;
      const { pinServerCa } = await import("../../api/tls.ts");
      for (const a of https) ca = await pinServerCa(a, opts.caHash ?? "");
      addContext(ctx.io.env, name, { addr: opts.server, token, ...(ca !== undefined ? { ca } : {}), ...(namespace !== undefined && namespace !== "default" ? { namespace } : {}) });
      if (opts.use) useContext(ctx.io.env, name);
      ctx.io.out(`context ${name} added to ${contextsPath(ctx.io.env)}${opts.use ? "; now current" : ""}\n`);
    });
  // kubectl's `config set-context --current --namespace NS`: later commands act in NS without -n.
  context
    .command("set-namespace")
    .argument("<namespace>", "a namespace such as team-a (\"default\" goes back to the default)")
    .description("make job commands of the current context act in this namespace (-n NS overrides it for one command)")
    .action((namespace: string) => {
      if (!isNamespace(namespace)) throw usageError(`"${namespace}" is not a namespace name`, "a DNS label: a-z, 0-9 and '-', e.g. team-a");
      const name = setContextNamespace(ctx.io.env, namespace);
      ctx.io.out(`context ${name ?? "(current)"} now acts in namespace ${namespace}\n`);
    });
  context
    .command("refresh-ca")
    .option("--ca-hash <sha256:hex>", "a CA the answer must hold (the new one `tiffin ca rotate` printed); after a finished rotation the context's old CA no longer verifies the server: the CA of this hash is then pinned from the server's handshake first")
    .description("after `tiffin ca rotate`: fetch the cluster's CAs over the connection the context trusts (or pinned by --ca-hash) and pin them in the current context")
    .action(async (opts: { caHash?: string }) => {
      const r = await refreshCa(ctx, opts.caHash);
      const name = setContextCa(ctx.io.env, r.bundle);
      ctx.io.out(`context ${name ?? "(current)"} now trusts ${r.hashes.join(", ")} (servers serve under ${r.serving})\n`);
    });
  context
    .command("remove")
    .alias("rm")
    .argument("<name>", "a context from `tiffin context list`")
    .description("remove a named context")
    .action((name: string) => {
      const wasCurrent = removeContext(ctx.io.env, name);
      ctx.io.out(`context ${name} removed${wasCurrent ? "; it was current: commands now use TIFFIN_ADDR, --addr or the default address until `tiffin context use`" : ""}\n`);
    });
}
