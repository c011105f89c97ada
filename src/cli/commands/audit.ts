// `tiffin audit`: the server's audit log (`GET /v1/audit`): who (token id and name) did what, when,
// from where and how it ended: every call that changes something, and every `tiffin exec` with its
// command and exit. Newest last, as `tail` reads.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { AuditEntry } from "../../api/types.ts";
import { parseDuration } from "../../spec/units.ts";
import type { CliContext } from "../command.ts";
import { usageError } from "../errors.ts";
import { outputFormat, outputOption, renderOutput } from "../output.ts";
import type { OutputOpts } from "../output.ts";
import { formatTime, renderTable } from "../table.ts";

/** The newest `limit` entries at or after `since` (epoch ms), oldest first. */
export function auditHandler(client: ApiClient, limit: number, since: number | null = null): Promise<AuditEntry[]> {
  return client.audit(limit, since);
}

/** `--since`: a duration back from `now` ("1h", "30m", "1h30m") or a date-time ("2026-12-01T10:00:00Z"); null when neither. */
export function parseSince(text: string, now: number): number | null {
  const ago = parseDuration(text);
  if (ago !== null) return now - ago;
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return null;
  const at = Date.parse(text);
  return Number.isFinite(at) ? at : null;
}

function outcome(e: AuditEntry): string {
  if (e.action === "call") return e.error === null ? String(e.status) : `${e.status} ${e.error}`;
  if (e.error !== null) return `error: ${e.error}`;
  if (e.endedAt === null) return "running";
  return e.signal !== null ? `signal ${e.signal}` : `exit ${e.exitCode ?? "?"}`;
}

function who(e: AuditEntry): string | null {
  // An exec entry's `user` is what the client said; `by` is the token that called.
  if (e.action === "exec") return e.by ? `${e.by.name} (${e.by.id})` : e.user;
  return e.by ? `${e.by.name} (${e.by.id})` : null;
}

function what(e: AuditEntry): string {
  if (e.action === "exec") return `${e.job}/${e.index}: ${e.command.join(" ")}`;
  return `${e.path}${e.detail === null ? "" : ` (${e.detail})`}`;
}

/** A table of entries; wide adds where the client connected from and, for an exec, how it ran, the attempt and host. */
export function renderAudit(entries: AuditEntry[], wide = false): string {
  if (entries.length === 0) return "no audit entries yet (every change and every `tiffin exec` is recorded)\n";
  const headers = ["time", "who", "action", "what", "outcome", ...(wide ? ["remote", "mode", "attempt", "host"] : [])];
  return renderTable(
    headers,
    entries.map((e) => [
      formatTime(e.at),
      who(e),
      e.action === "exec" ? "exec" : e.method,
      what(e),
      outcome(e),
      ...(wide ? (e.action === "exec" ? [e.remote, e.mode ?? null, e.attemptId, e.hostId] : [e.remote, null, null, null]) : []),
    ]),
  );
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  outputOption(
    program
      .command("audit")
      .option("--limit <n>", "how many of the newest entries (1 to 1000)", "100")
      .option("--since <when>", "only entries from then on: a duration back (1h, 30m) or a date-time (2026-12-01T10:00:00Z)")
      .description("show the server's audit log: who changed what, when, from where, how it ended (every change and every `tiffin exec`)"),
  ).action(async (opts: OutputOpts & { limit: string; since?: string }) => {
    const format = outputFormat(opts);
    const limit = /^\d{1,4}$/.test(opts.limit) ? Number(opts.limit) : Number.NaN;
    if (!(limit >= 1 && limit <= 1000)) throw usageError(`--limit must be a whole number from 1 to 1000, got "${opts.limit}"`, "e.g. tiffin audit --limit 20");
    const since = opts.since === undefined ? null : parseSince(opts.since, Date.now());
    if (opts.since !== undefined && since === null) throw usageError(`--since must be a duration or a date-time, got "${opts.since}"`, "e.g. tiffin audit --since 1h, or --since 2026-12-01T10:00:00Z");
    const entries = await auditHandler(ctx.client(), limit, since);
    ctx.io.out(renderOutput(format, entries, (wide) => renderAudit(entries, wide)));
  });
}
