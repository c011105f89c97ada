// `tiffin history JOB`: the stored versions of a job, newest first, each summarized by what changed
// from the one before; `--diff A B` shows every changed field between two versions; `--spec V` prints
// version V as a JSON spec file that `tiffin apply` accepts unchanged. Specs are shown in the form users
// write (`memory: "256Mi"`, `grace: "10s"`), not the stored one (`memoryMiB`, `graceMs`).

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { JobVersion } from "../../model/job.ts";
import type { DiffLine, VersionDiff } from "../../api/types.ts";
import { diffJson, formatDiff } from "../../model/diff.ts";
import { decompileJob, specFileText } from "../../spec/api.ts";
import type { CliContext } from "../command.ts";
import { outputFormat, outputOption, renderOutput } from "../output.ts";
import type { OutputOpts } from "../output.ts";
import { usageError } from "../errors.ts";
import { formatTime, renderTable } from "../table.ts";

/** One row of the history. */
export interface HistoryEntry {
  version: number;
  createdAt: number;
  /** Who applied it, as their client said (null before versions recorded it). */
  by: string | null;
  /** Why, from `apply -m` or a revert. */
  message: string | null;
  /** What changed from the previous version, in a few words. */
  summary: string;
}

/** Summarizes a diff in one short line. */
export function summarizeDiff(diff: DiffLine[], max = 3): string {
  if (diff.length === 0) return "no changes";
  const shown = diff.slice(0, max).map((d) => {
    const v = (x: unknown) => (x === undefined ? "" : short(JSON.stringify(x)));
    if (d.op === "add") return `+${d.path}`;
    if (d.op === "remove") return `-${d.path}`;
    return `${d.path} ${v(d.before)} -> ${v(d.after)}`;
  });
  return shown.join(", ") + (diff.length > max ? ` (+${diff.length - max} more)` : "");
}

/** A message's first line, cut to fit a table cell. */
function oneLine(message: string): string {
  const first = message.split("\n")[0] ?? "";
  return first.length > 40 || first !== message ? `${first.slice(0, 37)}...` : first;
}

function short(s: string): string {
  return s.length > 24 ? `${s.slice(0, 21)}...` : s;
}

/** Builds history entries (newest first) from stored versions. */
export function historyEntries(versions: JobVersion[]): HistoryEntry[] {
  const sorted = [...versions].sort((a, b) => a.version - b.version);
  return sorted
    .map((v, i) => {
      const prev = sorted[i - 1];
      const summary = prev ? summarizeDiff(diffJson(decompileJob(prev.spec), decompileJob(v.spec))) : `created: ${v.spec.replicas} replica(s) of ${v.spec.command.join(" ")}`;
      return { version: v.version, createdAt: v.createdAt, by: v.by ?? null, message: v.message ?? null, summary };
    })
    .reverse();
}

/** Fetches the versions of a job. */
export async function historyHandler(client: ApiClient, job: string): Promise<HistoryEntry[]> {
  return historyEntries(await client.versions(job));
}

/** The server's diff of two versions (the dashboard shows the same). */
export async function versionDiffHandler(client: ApiClient, job: string, from: number, to: number): Promise<VersionDiff> {
  return client.versionDiff(job, to, from);
}

/** Version `version` of a job as a spec file (JSON: `apply` reads it without running code, and any
 * YAML tool converts it). */
export async function versionSpecHandler(client: ApiClient, job: string, version: number): Promise<string> {
  return specFileText((await client.version(job, version)).spec);
}

/** A table of versions. */
export function renderHistory(entries: HistoryEntry[]): string {
  return renderTable(
    ["version", "created", "by", "message", "summary"],
    entries.map((e) => [e.version, formatTime(e.createdAt), e.by ?? "-", e.message === null ? "-" : oneLine(e.message), e.summary]),
  );
}

/** The diff of two versions. */
export function renderVersionDiff(d: VersionDiff): string {
  return `job ${d.name}: version ${d.from ?? "none"} -> ${d.to}\n${formatDiff(d.diff)}\n`;
}

/** Parses a version number argument. */
export function parseVersion(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw usageError(`"${text}" is not a version number`, "versions are positive integers, as `tiffin history JOB` lists them");
  return n;
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  outputOption(
    program
      .command("history")
      .argument("<job>", "job name")
      .option("--diff <versions...>", "diff two versions: --diff A B")
      .option("--spec <version>", "print a version as a spec file (JSON) that `tiffin apply` accepts")
      .description("list a job's versions, diff two of them, or print one as a spec file"),
  ).action(async (job: string, opts: OutputOpts & { diff?: string[]; spec?: string }) => {
    const format = outputFormat(opts);
    if (opts.spec !== undefined) {
      ctx.io.out(await versionSpecHandler(ctx.client(), job, parseVersion(opts.spec)));
      return;
    }
    if (opts.diff) {
      if (opts.diff.length !== 2) throw usageError(`--diff takes two versions, got ${opts.diff.length}`, `e.g. tiffin history ${job} --diff 1 2`);
      const d = await versionDiffHandler(ctx.client(), job, parseVersion(opts.diff[0] ?? ""), parseVersion(opts.diff[1] ?? ""));
      ctx.io.out(renderOutput(format, d, () => renderVersionDiff(d)));
      return;
    }
    const entries = await historyHandler(ctx.client(), job);
    ctx.io.out(renderOutput(format, entries, () => renderHistory(entries)));
  });
}
