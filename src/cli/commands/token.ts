// `tiffin token create|list|revoke|whoami`: API tokens with policies. A policy is grants as
// RESOURCE=CAP[,CAP] (`ns/default=read,logs`, `ns/*=read`, `hosts=drain`, `packages=write`,
// `tokens=write`, `cluster=read`, `*=admin`); the secret is printed once, at create, and the server
// keeps only its sha256. A token hands out only what it holds itself.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { ApiTokenView, TokenCreated, Whoami } from "../../api/types.ts";
import { formatGrant } from "../../model/acl.ts";
import { parseDuration } from "../../spec/units.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { usageError } from "../errors.ts";
import { outputFormat, outputOption, renderOutput } from "../output.ts";
import type { OutputOpts } from "../output.ts";
import { formatTime, renderJson, renderTable } from "../table.ts";

const policyHint = "e.g. --policy ns/default=read,logs --policy hosts=read (resources: ns/NAME, ns/PREFIX*, ns/*, hosts, packages, tokens, cluster, *; capabilities: read, write, exec, logs, drain, secrets, admin)";

/** `--ttl`: "30d", "12h", "90m", "1h30m"; null when it is none of those. */
export function parseTtl(text: string): number | null {
  const days = /^(\d{1,4})d$/.exec(text);
  if (days) return Number(days[1]) * 86_400_000;
  const ms = parseDuration(text);
  return ms !== null && ms > 0 ? ms : null;
}

/** Creates a token. */
export function createHandler(client: ApiClient, name: string, policy: string[], ttlMs: number | null): Promise<TokenCreated> {
  return client.createToken({ name, policy, ...(ttlMs === null ? {} : { ttlMs }) });
}

/** What `token create` prints: the token, then its secret, which is not shown again. */
export function renderCreated(c: TokenCreated): string {
  const until = c.token.expiresAt === null ? "until revoked" : `until ${new Date(c.token.expiresAt).toISOString()}`;
  return `token ${c.token.id} "${c.token.name}" created (${c.token.policy.map(formatGrant).join(" ")}; ${until})\nsecret (shown once; keep it safe, e.g. TIFFIN_TOKEN=...):\n${c.secret}\n`;
}

/** The tokens as a table; wide adds who created and revoked them. */
export function renderTokens(tokens: ApiTokenView[], wide = false): string {
  if (tokens.length === 0) return "no tokens yet (`tiffin token create --name NAME --policy ...`)\n";
  return renderTable(
    ["id", "name", "state", "policy", "expires", ...(wide ? ["created", "created by", "revoked by"] : [])],
    tokens.map((t) => [t.id, t.name, t.state, t.policy.map(formatGrant).join(" "), t.expiresAt === null ? "never" : formatTime(t.expiresAt), ...(wide ? [formatTime(t.createdAt), t.createdBy.name, t.revokedBy?.name ?? null] : [])]),
  );
}

/** What `token whoami` prints. */
export function renderWhoami(w: Whoami): string {
  const who = w.kind === "admin" ? "the admin token (DATA_DIR/admin.token)" : `token ${w.id} "${w.name}"`;
  return `${who}\npolicy: ${w.policy.map(formatGrant).join(" ")}\nexpires: ${w.expiresAt === null ? "never" : new Date(w.expiresAt).toISOString()}\n`;
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  const token = program.command("token").description("API tokens with policies: create, list, revoke, whoami");
  jsonOption(
    token
      .command("create")
      .requiredOption("--name <name>", "what the token is for (shown in list and in the audit)")
      .option("--policy <grant>", "a grant RESOURCE=CAP[,CAP] (repeatable), e.g. ns/default=read,logs", (v: string, prev: string[]) => [...prev, v], [] as string[])
      .option("--ttl <duration>", "how long it works: 30d, 12h, 90m (default: until revoked)")
      .description("make a token with a policy; its secret is printed once"),
  ).action(async (opts: { name: string; policy: string[]; ttl?: string; json?: boolean }) => {
    if (opts.policy.length === 0) throw usageError("a token needs at least one --policy grant", policyHint);
    const ttlMs = opts.ttl === undefined ? null : parseTtl(opts.ttl);
    if (opts.ttl !== undefined && ttlMs === null) throw usageError(`--ttl must be a duration such as 30d, 12h or 90m, got "${opts.ttl}"`, "e.g. --ttl 30d");
    const c = await createHandler(ctx.client(), opts.name, opts.policy, ttlMs);
    ctx.io.out(opts.json ? renderJson(c) : renderCreated(c));
  });
  outputOption(token.command("list").description("every token with its policy and state (never a secret)")).action(async (opts: OutputOpts) => {
    const format = outputFormat(opts);
    const tokens = await ctx.client().tokens();
    ctx.io.out(renderOutput(format, tokens, (wide) => renderTokens(tokens, wide)));
  });
  jsonOption(token.command("revoke").argument("<id>", "the token's id (`tiffin token list`)").description("revoke a token: every server refuses it from then on")).action(async (id: string, opts: { json?: boolean }) => {
    const t = await ctx.client().revokeToken(id);
    ctx.io.out(opts.json ? renderJson(t) : `token ${t.id} "${t.name}" revoked\n`);
  });
  jsonOption(token.command("whoami").description("the token this CLI uses: its name, policy and expiry")).action(async (opts: { json?: boolean }) => {
    const w = await ctx.client().whoami();
    ctx.io.out(opts.json ? renderJson(w) : renderWhoami(w));
  });
}
