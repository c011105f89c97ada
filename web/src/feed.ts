// The events feed: one line per change the watch reports after its first bookmark (the list before
// it is the state, not news). Pure: the previous object and the new one in, a line (or null) out.

import { shownJob } from "./names.ts";
import type { AliveValue, Attempt, Host, JobVersion, Task, WatchEvent } from "../../src/api/index.ts";

/** What a feed line is about, for the filter. */
export type FeedTopic = "host" | "job" | "task";

/** One line of the feed. */
export interface FeedEntry {
  at: number;
  topic: FeedTopic;
  /** The job or host name the line is about, for the filter. */
  subject: string;
  text: string;
}

/** Names the host of an id (the watch's host map), or the id itself. */
export type HostName = (id: string | null) => string;

/** The line for one watch event, given the object it replaces (null when new, or when the page has
 * not seen it: tasks and attempts are followed without a list, so the first change of an older one
 * comes with no previous object), or null for changes nobody reads (a heartbeat lease renewed, a
 * usage sample). */
export function describe(ev: WatchEvent, prev: unknown, hostName: HostName, at: number): FeedEntry | null {
  // A job's lines name it as users do (`team-a/web`), not by the id the watch names it with.
  const line = (topic: FeedTopic, subject: string, text: string): FeedEntry =>
    topic === "host" || !subject.includes(".") ? { at, topic, subject, text } : { at, topic, subject: shownJob(subject), text: text.replaceAll(subject, shownJob(subject)) };
  switch (ev.kind) {
    case "version": {
      const v: JobVersion | null = ev.object;
      if (ev.type !== "added" || v === null) return null;
      const note = [v.by ? `by ${v.by}` : "", v.message ? `: ${v.message}` : ""].join("");
      return line("job", v.name, `${v.name} v${v.version} applied${note ? ` ${note}` : ""} (${v.spec.replicas} replicas)`);
    }
    case "job": {
      if (ev.type === "removed") return line("job", ev.name, `${ev.name} removed`);
      const was = prev as { removedAt: number | null } | null;
      if (ev.object?.removedAt !== null && was?.removedAt === null) return line("job", ev.name, `${ev.name} removed`);
      return null;
    }
    case "task": {
      const t: Task | null = ev.object;
      const was = prev as Task | null;
      if (ev.type === "removed") return line("task", ev.name.split("/")[0] ?? ev.name, `${ev.name} removed`);
      if (t === null) return null;
      // A change of a task the page has not seen: its placement may be old news (its attempts say
      // where it starts); a new reason it waits is worth a line.
      const known = was !== null || ev.type === "added";
      if (known && t.hostId !== null && t.hostId !== (was?.hostId ?? null))
        return line("task", t.job, `${ev.name} placed on ${hostName(t.hostId)}${was?.hostId ? ` (moved from ${hostName(was.hostId)})` : ""}`);
      if (t.hostId === null && t.unplacedReason !== null && t.unplacedReason !== (was?.unplacedReason ?? null))
        return line("task", t.job, `${ev.name} unplaced: ${t.unplacedReason}`);
      if (t.parked && !was?.parked) return line("task", t.job, `${ev.name} parked: ${t.parked.reason}`);
      return null;
    }
    case "attempt": {
      const a: Attempt | null = ev.object;
      const was = prev as Attempt | null;
      if (a === null || ev.type === "removed") return null;
      const who = `${a.job}/${a.index}`;
      if (ev.type === "added") return line("task", a.job, `${who} attempt ${a.id} created on ${hostName(a.hostId)} (v${a.version})`);
      // An older attempt's first change: its state is news unless it is the usual way up.
      if (was === null) return ["pending", "starting", "running", "healthy"].includes(a.state) && a.desired === "run" ? null : line("task", a.job, `${who} ${a.desired === "stop" && a.state !== "stopped" && a.state !== "exited" ? "asked to stop" : a.state} on ${hostName(a.hostId)}${endOf(a)}`);
      if (was.desired === "run" && a.desired === "stop") return line("task", a.job, `${who} asked to stop on ${hostName(a.hostId)}`);
      if (a.state === was.state) return null;
      return line("task", a.job, `${who} ${a.state} on ${hostName(a.hostId)}${endOf(a)}`);
    }
    case "host": {
      const h: Host | null = ev.object;
      const was = prev as Host | null;
      if (ev.type === "removed") return line("host", ev.object?.name ?? ev.name, `host ${ev.object?.name ?? ev.name} removed`);
      if (h === null) return null;
      if (was === null) return line("host", h.name, `host ${h.name} registered (${h.domain.cluster}/${h.domain.rack}, ${h.cores} cores, ${h.memoryMiB} MiB)`);
      if (h.draining !== was.draining) return line("host", h.name, `host ${h.name} ${h.draining ? "draining" : "undrained"}`);
      return null;
    }
    case "alive": {
      const name = hostName(ev.name);
      const was = prev as AliveValue | null;
      if (ev.type === "removed") return line("host", name, `host ${name} down (no heartbeat)`);
      if (was === null) return line("host", name, `host ${name} up`);
      return null;
    }
    case "rollout": {
      const r = ev.object;
      const was = prev as { state: string; phase: number } | null;
      if (r === null || (was !== null && was.state === r.state && was.phase === r.phase)) return null;
      return line("job", r.job, `${r.job} v${r.version} rollout ${r.state}, phase ${r.phase + 1}/${r.phases.length}${r.why ? `: ${r.why}` : ""}`);
    }
    case "endpoint": {
      // Service endpoints come and go with every health change; the job's tasks already say so.
      return null;
    }
    case "run": {
      const r = ev.object;
      const was = prev as { state: string } | null;
      if (r === null || (was !== null && was.state === r.state)) return null;
      return line("job", r.job, `${r.job} run ${r.id} ${r.state}${r.reason ? `: ${r.reason}` : ""}`);
    }
    case "maintenance": {
      const w = ev.object;
      if (w === null) return null;
      const what = `maintenance of ${w.scope} ${w.target} at ${new Date(w.start).toISOString()} (${w.reason})`;
      if (ev.type === "added") return line("host", w.target, `${what} planned`);
      if (w.cancelledAt !== null && (prev as { cancelledAt: number | null } | null)?.cancelledAt === null) return line("host", w.target, `${what} cancelled`);
      return null;
    }
  }
}

/** Where each unplaced task was, so a task the reconciler unplaces from a down host (hostId null) and
 * places in a later write still reads "moved from" it. Holds only tasks unplaced now. */
export class UnplacedFrom {
  readonly #from = new Map<string, string>();

  /** The previous object to describe a task's change with (`next` null: removed): while the task is
   * unplaced, with the host it was unplaced from. */
  before(name: string, prev: Task | null, next: Task | null): Task | null {
    const from = this.#from.get(name);
    if (next === null || next.hostId !== null) this.#from.delete(name);
    else if (prev?.hostId) this.#from.set(name, prev.hostId);
    return prev !== null && prev.hostId === null && from !== undefined ? { ...prev, hostId: from } : prev;
  }
}

/** How an attempt ended, for a feed line or a table: exit code, signal, reason. */
export function endOf(a: Pick<Attempt, "exitCode" | "signal" | "reason">): string {
  const parts = [a.exitCode !== null ? `exit ${a.exitCode}` : "", a.signal !== null ? a.signal : "", a.reason ?? ""].filter((p) => p !== "");
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}
