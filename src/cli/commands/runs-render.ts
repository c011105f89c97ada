// How runs of batch jobs read in a terminal: `tiffin runs JOB` (one line a run) and `tiffin runs show
// RUN` (the run, then one line an item: attempts, exit codes, durations). Pure, so tables test them.

import { runItemCounts } from "../../model/index.ts";
import type { Run, RunItem } from "../../model/index.ts";
import { formatDuration } from "../../spec/api.ts";
import { formatTime, renderTable } from "../table.ts";

/** `done/failed/total` of a run's items. */
export function itemCounts(r: Run): string {
  const c = runItemCounts(r);
  return `${c.succeeded} ok, ${c.failed} failed, ${c.running} running of ${c.total}`;
}

/** How long a run took (or has taken by `now`). */
function took(r: Run, now: number): string {
  if (r.startedAt === null) return "-";
  return formatDuration(Math.max(0, (r.endedAt ?? now) - r.startedAt));
}

/** One line a run, oldest first. */
export function renderRuns(job: string, runs: readonly Run[], now: number): string {
  if (runs.length === 0) return `job ${job} has no runs: start one with \`tiffin run ${job}\`\n`;
  return renderTable(
    ["RUN", "STATE", "CAUSE", "ITEMS", "STARTED", "TOOK", "WHY"],
    runs.map((r) => [`${r.job}/${r.id}`, r.state, r.cause, itemCounts(r), formatTime(r.startedAt), took(r, now), r.reason ?? ""]),
  );
}

/** An attempt's end in a few characters: "0", "1", "SIGKILL", "lost". */
function endOf(a: RunItem["attempts"][number]): string {
  if (a.exitCode !== null) return String(a.exitCode);
  if (a.signal !== null) return a.signal;
  return a.state;
}

/** The failed items and their attempts' ends, at most `max` of them: "item 1 exit 7,7; item 4 exit
 * SIGKILL,lost (and 3 more)"; "" when none failed. */
export function failedItemsText(r: Run, max = 10): string {
  const failed = r.items.filter((it) => it.state === "failed");
  if (failed.length === 0) return "";
  const text = failed.slice(0, max).map((it) => `item ${it.index} exit ${it.attempts.map(endOf).join(",") || "-"}`).join("; ");
  return failed.length > max ? `${text} (and ${failed.length - max} more)` : text;
}

/** The run, then one line an item with its attempts' exit codes and durations. */
export function renderRun(r: Run, now: number): string {
  const head = [
    `run ${r.job}/${r.id}: ${r.state}${r.reason ? ` (${r.reason})` : ""}`,
    `version ${r.version}, ${r.cause}, created ${formatTime(r.createdAt)}, started ${formatTime(r.startedAt)}, took ${took(r, now)}`,
    `items: ${itemCounts(r)}`,
    ...(Object.keys(r.params).length > 0 ? [`params: ${Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(" ")}`] : []),
  ];
  const rows = r.items.map((it) => [
    it.index,
    it.state,
    it.attempts.length,
    it.attempts.map(endOf).join(",") || "-",
    it.attempts.map((a) => (a.startedAt !== null && a.endedAt !== null ? formatDuration(Math.max(0, a.endedAt - a.startedAt)) : "-")).join(",") || "-",
    it.attempts.at(-1)?.id ?? "",
  ]);
  const logs = `logs of an item's attempt: \`tiffin logs ${r.job}/INDEX --attempt ID\`\n`;
  return `${head.join("\n")}\n${renderTable(["ITEM", "STATE", "ATTEMPTS", "EXIT", "DURATIONS", "LAST ATTEMPT"], rows)}${logs}`;
}
