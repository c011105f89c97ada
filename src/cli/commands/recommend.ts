// `tiffin recommend [JOB] [--json] [--write FILE]`: the resources the server recommends from its usage
// history (per job: current, recommended, why, and the evidence: window, percentile, headroom,
// samples), and what `resources.adapt` would apply. `--write FILE` rewrites the job's `resources` in
// the user's own spec file as a minimal edit, checked by loading the edited file (only this job's cpu
// and memory may change), so the user reviews it and applies it through plan/apply like any change:
// nothing is applied, nothing is evicted.
import { chmodSync, renameSync, rmSync, statSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import { DefaultNamespace, diffJson, ErrorCodes, TiffinError } from "../../model/index.ts";
import type { JobSpec, Recommendation } from "../../model/index.ts";
import { formatDuration, formatSize, loadSpecFile } from "../../spec/api.ts";
import { editResources } from "../../spec/edit-resources.ts";
import type { ResourceEdit, SpecSyntax } from "../../spec/edit-resources.ts";
import type { CliContext } from "../command.ts";
import { usageError } from "../errors.ts";
import type { CliIo } from "../io.ts";
import { formatTime, renderJson, renderTable } from "../table.ts";

/** The recommendation of `job`, or of every job not removed. */
export async function recommendHandler(client: ApiClient, job: string | null): Promise<Recommendation[]> {
  return job !== null ? [await client.recommendation(job)] : client.recommendations();
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;
const num = (x: number | null, unit = ""): string => (x === null ? "-" : `${Number(x.toFixed(3))}${unit}`);

/** One job's recommendation as text: a table of current and recommended figures with why, then the evidence. */
export function renderRecommendation(r: Recommendation): string {
  const e = r.evidence;
  const p = r.policy;
  const window = `window ${formatDuration(p.windowMs)}, cpu p${Number((p.percentile * 100).toFixed(1))}, headroom ${pct(p.headroom)}`;
  const head = `job ${r.job}${r.namespace !== undefined && r.namespace !== DefaultNamespace ? ` (namespace ${r.namespace})` : ""} (version ${r.version}): ${e.samples} sample${e.samples === 1 ? "" : "s"} of ${e.tasks} task${e.tasks === 1 ? "" : "s"}${e.from !== null ? ` from ${formatTime(e.from)} to ${formatTime(e.to)}` : ""} (${window})`;
  if (r.recommended === null) return `${head}\nno recommendation: ${r.reason ?? "unknown"}\n`;
  const why = (field: "cpu" | "memoryMiB"): string => r.changes.find((c) => c.field === field)?.why ?? "as recommended";
  const table = renderTable(
    ["resource", "current", "recommended", "why"],
    [
      ["cpu", r.current.cpu, r.recommended.cpu, why("cpu")],
      ["memory", formatSize(r.current.memoryMiB), formatSize(r.recommended.memoryMiB), why("memoryMiB")],
      ["disk", formatSize(r.current.diskMiB), formatSize(r.recommended.diskMiB), "not sampled: unchanged"],
    ],
  );
  const m = e.memory;
  const lines = [
    head,
    table.trimEnd(),
    `evidence: cpu p50 ${num(e.cpu.p50)}, p${Number((p.percentile * 100).toFixed(1))} ${num(e.cpu.pct)}, peak ${num(e.cpu.peak)} cores, throttled ${e.cpu.throttledShare === null ? "-" : pct(e.cpu.throttledShare)}; memory p50 ${num(m.p50MiB)}, p99 ${num(m.p99MiB)}, peak ${num(m.peakMiB)} MiB, trend ${num(m.trendMiBPerHour)} MiB/h; OOM kills ${m.oomKills}${m.oomLimitMiB !== null ? ` (limit ${formatSize(m.oomLimitMiB)})` : ""}`,
  ];
  if (e.perTask.length > 1) {
    lines.push(`per task: ${e.perTask.map((t) => `${r.job}/${t.index} peak ${num(t.memoryPeakMiB)} MiB, p${Number((p.percentile * 100).toFixed(1))} ${num(t.cpuPct)} cores (${t.samples} samples)`).join("; ")}`);
  }
  if (r.changes.length === 0) lines.push("the job already asks for what is recommended");
  if (r.adapt !== null) lines.push(`adapt: ${r.adapt.note}`);
  return `${lines.join("\n")}\n`;
}

function syntaxOf(file: string): SpecSyntax {
  const ext = extname(file).toLowerCase();
  if ([".ts", ".mts", ".js", ".mjs"].includes(ext)) return "module";
  if (ext === ".json") return "json";
  if (ext === ".yaml" || ext === ".yml") return "yaml";
  throw usageError(`${file}: cannot write a recommendation into a "${ext}" file`, "give the job's spec file: .ts, .mts, .js, .mjs, .json, .yaml or .yml");
}

/** The changed lines of `after` against `before`: one hunk from the first to the last line that differs. */
export function lineHunk(before: string, after: string): string[] {
  const a = before.split("\n");
  const b = after.split("\n");
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  return [`@@ line ${start + 1} @@`, ...a.slice(start, endA).map((l) => `-${l}`), ...b.slice(start, endB).map((l) => `+${l}`)];
}

/** What `--write` did: the edit, the changed lines, or that nothing needed changing. */
export interface WriteResult {
  file: string;
  job: string;
  changed: boolean;
  edit: ResourceEdit;
  hunk: string[];
}

/** Rewrites `rec`'s job's cpu and memory in `file`, verified by loading the result; the file is replaced only then. */
export async function writeRecommendation(file: string, rec: Recommendation, io?: CliIo): Promise<WriteResult> {
  const abs = resolve(file);
  const syntax = syntaxOf(abs);
  const load = (path: string): Promise<JobSpec[]> => loadSpecFile(path, io ? { onOutput: (t) => io.err(t) } : {});
  const before = await load(abs);
  const mine = before.find((s) => s.name === rec.job);
  if (!mine) throw usageError(`${file} has no job named "${rec.job}" (it has: ${before.map((s) => s.name).join(", ") || "none"})`, "give the spec file the job was applied from");
  if (rec.recommended === null) {
    throw new TiffinError(ErrorCodes.NoRecommendation, `no recommendation for job "${rec.job}" yet: ${rec.reason ?? "unknown"}`, { hint: `\`tiffin recommend ${rec.job}\` shows the history it has; try again later` });
  }
  const edit: ResourceEdit = {
    ...(mine.resources.cpu !== rec.recommended.cpu ? { cpu: rec.recommended.cpu } : {}),
    ...(mine.resources.memoryMiB !== rec.recommended.memoryMiB ? { memoryMiB: rec.recommended.memoryMiB } : {}),
  };
  if (edit.cpu === undefined && edit.memoryMiB === undefined) return { file, job: rec.job, changed: false, edit, hunk: [] };
  const text = readFileSync(abs, "utf8");
  const refuse = (why: string): TiffinError =>
    new TiffinError(ErrorCodes.SpecEdit, `cannot rewrite the resources of job "${rec.job}" in ${file}: ${why}`, {
      hint: `set its resources to { cpu: ${rec.recommended?.cpu}, memory: "${formatSize(rec.recommended?.memoryMiB ?? 0)}" } yourself, then \`tiffin plan ${file}\``,
    });
  const edited = editResources(text, syntax, rec.job, edit);
  if (!edited.ok) throw refuse(edited.reason);
  // Next to the original, so the file's own relative imports resolve the same way.
  const temp = join(dirname(abs), `.${basename(abs, extname(abs))}.tiffin-recommend-${process.pid}${extname(abs)}`);
  writeFileSync(temp, edited.text, { mode: statSync(abs).mode & 0o7777 });
  try {
    const after = await load(temp).catch((err: unknown) => {
      throw refuse(`the edited file does not load (${err instanceof Error ? err.message : String(err)})`);
    });
    const want = before.map((s) => (s.name === rec.job ? { ...s, resources: { ...s.resources, cpu: edit.cpu ?? s.resources.cpu, memoryMiB: edit.memoryMiB ?? s.resources.memoryMiB } } : s));
    const diff = diffJson(want, after);
    if (diff.length > 0) throw refuse(`the edit would change more than this job's cpu and memory (${diff.slice(0, 3).map((d) => d.path).join(", ")}), e.g. a value other jobs share`);
    chmodSync(temp, statSync(abs).mode & 0o7777);
    renameSync(temp, abs);
  } finally {
    rmSync(temp, { force: true });
  }
  return { file, job: rec.job, changed: true, edit, hunk: lineHunk(text, edited.text) };
}

/** What `--write` prints. */
export function renderWrite(w: WriteResult): string {
  if (!w.changed) return `job ${w.job} in ${w.file} already asks for the recommended resources: nothing written\n`;
  const what = [w.edit.cpu !== undefined ? `cpu ${w.edit.cpu}` : null, w.edit.memoryMiB !== undefined ? `memory ${formatSize(w.edit.memoryMiB)}` : null].filter((x) => x !== null).join(", ");
  return `wrote ${what} for job ${w.job} into ${w.file}:\n${w.hunk.map((l) => `  ${l}`).join("\n")}\nreview it, then \`tiffin plan ${w.file}\` and \`tiffin apply ${w.file}\`\n`;
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("recommend")
    .description("resources recommended from the tasks' usage history, with the evidence; --write puts them into the spec file")
    .argument("[job]", "one job (default: every job)")
    .option("--json", "print as JSON")
    .option("--write <file>", "rewrite the job's resources in this spec file (then plan and apply it)")
    .action(async (job: string | undefined, opts: { json?: boolean; write?: string }) => {
      if (opts.write !== undefined && job === undefined) throw usageError("--write needs the job: tiffin recommend JOB --write FILE", "e.g. tiffin recommend web --write tiffin.ts");
      const recs = await recommendHandler(ctx.client(), job ?? null);
      if (opts.write !== undefined) {
        const rec = recs[0];
        if (!rec) throw usageError(`no recommendation for job "${job}"`);
        const w = await writeRecommendation(opts.write, rec, ctx.io);
        ctx.io.out(opts.json ? renderJson({ recommendation: rec, write: w }) : `${renderRecommendation(rec)}\n${renderWrite(w)}`);
        return;
      }
      ctx.io.out(opts.json ? renderJson(job !== undefined ? recs[0] : recs) : recs.length === 0 ? "no jobs\n" : recs.map(renderRecommendation).join("\n"));
    });
}
