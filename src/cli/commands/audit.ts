// `tiffin audit`: the server's audit log (`GET /v1/audit`): who ran what inside which task, when, and
// how it ended (today: every `tiffin exec`). Newest last, as `tail` reads.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { AuditEntry } from "../../api/types.ts";
import type { CliContext } from "../command.ts";
import { usageError } from "../errors.ts";
import { outputFormat, outputOption, renderOutput } from "../output.ts";
import type { OutputOpts } from "../output.ts";
import { formatTime, renderTable } from "../table.ts";

/** The newest `limit` entries, oldest first. */
export function auditHandler(client: ApiClient, limit: number): Promise<AuditEntry[]> {
  return client.audit(limit);
}

function outcome(e: AuditEntry): string {
  if (e.error !== null) return `error: ${e.error}`;
  if (e.endedAt === null) return "running";
  return e.signal !== null ? `signal ${e.signal}` : `exit ${e.exitCode ?? "?"}`;
}

/** A table of entries; wide adds where the client connected from, how it ran, the attempt and host. */
export function renderAudit(entries: AuditEntry[], wide = false): string {
  if (entries.length === 0) return "no audit entries yet (each `tiffin exec` is recorded)\n";
  const headers = ["time", "user", "action", "task", "command", "outcome", ...(wide ? ["remote", "mode", "attempt", "host"] : [])];
  return renderTable(
    headers,
    entries.map((e) => [
      formatTime(e.at),
      e.user,
      e.action,
      `${e.job}/${e.index}`,
      e.command.join(" "),
      outcome(e),
      ...(wide ? [e.remote, e.mode ?? null, e.attemptId, e.hostId] : []),
    ]),
  );
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  outputOption(
    program
      .command("audit")
      .option("--limit <n>", "how many of the newest entries (1 to 1000)", "100")
      .description("show the server's audit log: who ran what in which task (every `tiffin exec`)"),
  ).action(async (opts: OutputOpts & { limit: string }) => {
    const format = outputFormat(opts);
    const limit = /^\d{1,4}$/.test(opts.limit) ? Number(opts.limit) : Number.NaN;
    if (!(limit >= 1 && limit <= 1000)) throw usageError(`--limit must be a whole number from 1 to 1000, got "${opts.limit}"`, "e.g. tiffin audit --limit 20");
    const entries = await auditHandler(ctx.client(), limit);
    ctx.io.out(renderOutput(format, entries, (wide) => renderAudit(entries, wide)));
  });
}
