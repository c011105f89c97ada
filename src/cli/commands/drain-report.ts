// How a drain reads to a person: what is left on the host, and per held job what holds it and for
// how long (the server's report, src/server/drain-report.ts), the deadline and its action.

import type { HostView } from "../../api/types.ts";
import type { DrainBlock } from "../../model/index.ts";
import { DrainBlockReasonText } from "../../model/index.ts";
import { formatTime } from "../table.ts";

/** "2m05s" for a span in ms. */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** One held job as a line: "big [task 0]: no room elsewhere for 12s - no host fits: ...". */
export function blockLine(b: DrainBlock, now: number): string {
  return `${b.job} [task ${b.tasks.join(", ")}]: ${DrainBlockReasonText[b.reason]} for ${span(now - b.since)} - ${b.detail}`;
}

/** The drain's lines (none when the host is not draining). */
export function renderDrainReport(h: HostView, now: number): string {
  if (!h.draining) return "";
  const d = h.drain;
  const lines: string[] = [];
  if (h.tasks === 0) lines.push(`host ${h.name} is draining: no tasks left (drained)`);
  else lines.push(`host ${h.name} is draining: ${h.tasks} task(s) left`);
  if (d?.deadline !== undefined && d.deadline !== null) {
    const when = d.deadline > now ? `in ${span(d.deadline - now)}` : `passed ${span(now - d.deadline)} ago`;
    lines.push(`  deadline ${formatTime(d.deadline)} (${when}), then ${d.then}${d.actedAt !== null ? ` (acted ${formatTime(d.actedAt)})` : ""}`);
  }
  if (!d || d.checkedAt === null) {
    if (h.tasks > 0) lines.push("  not looked at yet by the leading server");
  } else if (d.blocked.length === 0) {
    if (h.tasks > 0) lines.push("  nothing blocks: tasks are moving within their jobs' disruption budgets");
  } else {
    lines.push(`  blocked (${d.blocked.length} job${d.blocked.length === 1 ? "" : "s"}):`);
    for (const b of d.blocked) lines.push(`    ${blockLine(b, now)}`);
  }
  return `${lines.join("\n")}\n`;
}
