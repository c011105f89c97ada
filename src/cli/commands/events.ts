// `tiffin events`: recent changes in the cluster, then (with --follow) each change as it happens,
// from the server's typed watch (`ApiClient.watch`, GET /v1/watch), like `kubectl get events -w`.
// "Recent": the changes of the last --since store revisions (default 100); a start the store has
// already compacted begins at the current state instead, saying so.

import type { Command } from "commander";
import { DefaultNamespace, splitJobId } from "../../model/index.ts";
import type { ApiClient } from "../../api/client.ts";
import { WatchKinds } from "../../api/watch-types.ts";
import type { WatchEvent, WatchKind, WatchMessage } from "../../api/watch-types.ts";
import type { CliContext } from "../command.ts";
import { waitForSignal } from "../command.ts";
import { usageError } from "../errors.ts";
import type { CliIo } from "../io.ts";

/** What one event says about its object, in a few words. */
export function eventSummary(e: WatchEvent): string {
  if (e.object === null) return "";
  switch (e.kind) {
    case "job":
      return e.object.removedAt === null ? `version ${e.object.version}` : "removed";
    case "version":
      return [e.object.by && `by ${e.object.by}`, e.object.message && `"${e.object.message}"`].filter(Boolean).join(" ");
    case "task":
      return [`v${e.object.version}`, e.object.hostId ? `on ${e.object.hostId}` : `unplaced${e.object.unplacedReason ? `: ${e.object.unplacedReason}` : ""}`].join(" ");
    case "attempt":
      return [shownJobPath(`${e.object.job}/${e.object.index}`), e.object.state, e.object.pid !== null ? `pid ${e.object.pid}` : "", e.object.reason ?? ""].filter((s) => s !== "").join(" ");
    case "host":
      return `${e.object.name}${e.object.draining ? " draining" : ""}`;
    case "alive":
      // A removal carries the last record, written while the host was up: no news on a "down" line.
      return e.type === "removed" ? "" : "up";
    case "rollout":
      return [`v${e.object.version}`, e.object.cause, e.object.state, `phase ${e.object.phase + 1}/${e.object.phases.length}`, e.object.why ?? ""].filter((s) => s !== "").join(" ");
    case "endpoint":
      return [`${e.object.address}:${e.object.ports.map((p) => `${p.name}=${p.port}`).join(",")}`, e.object.host, e.object.state].join(" ");
    case "run":
      return [`v${e.object.version}`, e.object.cause, e.object.state, e.object.reason ?? ""].filter((s) => s !== "").join(" ");
    case "maintenance":
      return `${e.object.scope} ${e.object.target} ${new Date(e.object.start).toISOString()} for ${Math.round(e.object.durationMs / 60_000)}m${e.object.cancelledAt !== null ? " cancelled" : ""}: ${e.object.reason}`;
  }
}

/** The kinds whose event name starts with the job's id (`job`, `job/v`, `job/index`, `job/n`, `job/id`). */
const JobNamedKinds: readonly WatchKind[] = ["job", "version", "task", "rollout", "endpoint", "run"];

/** A name that starts with a job's id (the typed watch names objects by id, server README) as users
 * write it: `web/0` in the default namespace, `team-a/web/0` (NS/NAME, as `uses` does) elsewhere. */
export function shownJobPath(idPath: string): string {
  const slash = idPath.indexOf("/");
  const t = splitJobId(slash < 0 ? idPath : idPath.slice(0, slash));
  const rest = slash < 0 ? "" : idPath.slice(slash);
  return `${t.namespace === DefaultNamespace ? "" : `${t.namespace}/`}${t.name}${rest}`;
}

/** One line per event: revision, kind, change, name, summary. */
export function renderEvent(e: WatchEvent): string {
  const change = e.kind === "alive" && e.type === "removed" ? "down" : e.type;
  const name = JobNamedKinds.includes(e.kind) ? shownJobPath(e.name) : e.name;
  return `${String(e.revision).padEnd(6)}  ${e.kind.padEnd(7)}  ${change.padEnd(7)}  ${name}${eventSummary(e) ? `  ${eventSummary(e)}` : ""}\n`;
}

/** The kinds a `--job` filter applies to, and those of `--host`. */
const JobKinds: readonly WatchKind[] = ["job", "version", "task", "attempt", "endpoint"];
const HostKinds: readonly WatchKind[] = ["task", "attempt", "endpoint", "host", "alive"];

/** The kinds asked for with --kind (comma-separated); a name that is no kind is a usage error.
 * Without --kind: every kind the filters given apply to (the server refuses a filter with a kind it
 * cannot apply to). */
export function parseKinds(text: string | undefined, filters: { jobs?: boolean; hosts?: boolean } = {}): WatchKind[] {
  if (text === undefined) return WatchKinds.filter((k) => (!filters.jobs || JobKinds.includes(k)) && (!filters.hosts || HostKinds.includes(k)));
  const kinds = text.split(",").map((k) => k.trim()).filter((k) => k !== "");
  const bad = kinds.filter((k) => !(WatchKinds as readonly string[]).includes(k));
  if (bad.length > 0 || kinds.length === 0) throw usageError(`unknown event kind "${bad[0] ?? text}"`, `use --kind with some of: ${WatchKinds.join(", ")}`);
  return kinds as WatchKind[];
}

/** The store revision now: the bookmark that ends the watch's opening list. */
async function currentRevision(client: ApiClient, kinds: readonly WatchKind[]): Promise<number> {
  const abort = new AbortController();
  try {
    for await (const m of client.watch({ kinds, signal: abort.signal })) if (m.type === "bookmark") return m.revision;
  } finally {
    abort.abort();
  }
  return 0;
}

/** Prints the recent changes (and with `follow`, the next ones until `signal`); JSON lines with `json`. */
export async function eventsHandler(client: ApiClient, io: CliIo, opts: { kinds: WatchKind[]; jobs: string[]; hosts: string[]; since: number; follow: boolean; json: boolean; signal: AbortSignal }): Promise<number> {
  const now = await currentRevision(client, opts.kinds);
  const from = Math.max(1, now - opts.since + 1);
  if (!opts.follow && from > now) return 0;
  const watch = new AbortController();
  opts.signal.addEventListener("abort", () => watch.abort(), { once: true });
  let listing = false;
  let shown = 0;
  let done: NodeJS.Timeout | undefined;
  const print = (e: WatchEvent): void => {
    shown++;
    io.out(opts.json ? `${JSON.stringify(e)}\n` : renderEvent(e));
  };
  try {
    const stream: AsyncGenerator<WatchMessage> = client.watch({ kinds: opts.kinds, jobs: opts.jobs, hosts: opts.hosts, from, signal: watch.signal });
    for await (const m of stream) {
      if (m.type === "reset") {
        // The store no longer keeps revision `from`: the current objects come as a list; skip it.
        io.err(`note: changes before the store's oldest kept revision are gone; ${opts.follow ? "following from now" : "nothing older to show"}\n`);
        listing = true;
        continue;
      }
      if (m.type === "bookmark") {
        listing = false;
        if (!opts.follow && m.revision >= now) break;
        continue;
      }
      if (listing) continue;
      if (!opts.follow && m.revision > now) break;
      print(m);
      // The last revision of the history reached: its other events come in the same read, then the
      // history is done (the next bookmark could be seconds away on a quiet cluster).
      if (!opts.follow && m.revision >= now) {
        clearTimeout(done);
        done = setTimeout(() => watch.abort(), 100);
      }
    }
  } catch (err) {
    if (!watch.signal.aborted) throw err;
  } finally {
    clearTimeout(done);
    watch.abort();
  }
  return shown;
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("events")
    .option("-f, --follow", "keep printing changes as they happen (Ctrl-C stops)")
    .option("--kind <kinds>", `only these kinds, comma-separated: ${WatchKinds.join(", ")}`)
    .option("--job <name...>", "only these jobs' objects (kinds job, version, task, attempt)")
    .option("--host <name...>", "only objects on these hosts, by name or id (kinds task, attempt, host, alive)")
    .option("--since <revisions>", "how many recent store revisions to show", "100")
    .option("--json", "one JSON event per line, for scripts")
    .description("show recent changes in the cluster (jobs, versions, tasks, attempts, hosts); -f follows them")
    .action(async (opts: { follow?: boolean; kind?: string; job?: string[]; host?: string[]; since: string; json?: boolean }) => {
      const kinds = parseKinds(opts.kind, { jobs: opts.job !== undefined, hosts: opts.host !== undefined });
      const since = /^\d{1,7}$/.test(opts.since) ? Number(opts.since) : Number.NaN;
      if (!(since >= 0)) throw usageError(`--since must be a whole number of revisions, got "${opts.since}"`, "e.g. tiffin events --since 20");
      const abort = new AbortController();
      const sig = waitForSignal(["SIGINT", "SIGTERM"]);
      void sig.promise.then(() => abort.abort());
      void ctx.outputClosed.then(() => abort.abort());
      try {
        const shown = await eventsHandler(ctx.client(), ctx.io, { kinds, jobs: opts.job ?? [], hosts: opts.host ?? [], since, follow: opts.follow === true, json: opts.json === true, signal: abort.signal });
        if (shown === 0 && !opts.follow && !opts.json) ctx.io.out("no changes in the recent revisions\n");
      } finally {
        sig.dispose();
      }
    });
}
