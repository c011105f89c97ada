// The registry's writer: while this server leads, it keeps `/endpoints/` equal to what
// `desiredEndpoint` says of every task, writing the difference as soon as the mirror shows a change
// (a report of an unhealthy or ended attempt, a stop decided, a host's lease gone) and when a host's
// status changes by time alone (it turns suspect with no write to react to): every `tickMs` the
// controller asks the status of each host its last pass asked about, and passes only when one
// differs. A pass walks every task, too dear to repeat every few ms over 10,000 tasks for nothing;
// the status check is a few map lookups per host, so the tick can be short and the endpoints of a
// host that turned suspect go within a tick of it. Even that walk, 20 times a second over thousands
// of hosts, was most of an idle server's own work (bench/idle.ts): a tick now asks no host until the
// earliest moment one of them can change by the clock alone (`statusChangesAt`: a host turning
// suspect, an upgrade window ending) or a contact revived a suspect host (`revivals`); everything
// else that changes a status is a store write, which triggers a pass.
//
// No periodic full pass: every change reaches a trigger. The mirror hands every change to its
// listeners (a reload after a failed watch too, key by key: mirror.test.ts), a pass whose writes did
// not all land leaves the ticks asking for another, and what was dropped while not leading is caught
// up when leadership is gained (main.ts triggers on onChange(true); leader.ts announces every return,
// a lapse of its trusted time included). A 5 s resync once hid that last gap (watch-etcd-leader).
//
// Stored rather than derived on each read: every watcher and every server in HA then sees one
// ordered history of the registry in the store's revisions, `GET /v1/watch?kinds=endpoint&from=REV`
// resumes across a server restart or a leader change like every kind, and a follower answers DNS
// from its mirror with the leader's judgement of liveness (which only the leader can make: it sees
// every heartbeat). Each write compares the modRevision it read, and the store is fenced to the
// leadership term, so a deposed leader cannot overwrite its successor.
import type { Logger } from "pino";
import { servicesOf } from "../../model/index.ts";
import type { Clock, Endpoint, HostStatus } from "../../model/index.ts";
import type { Op, Compare, Store } from "../../state/store.ts";
import { endpointKey, Kinds } from "../kinds.ts";
import type { Mirror } from "../mirror.ts";
import { desiredEndpoint, sameEndpoint } from "./desired.ts";
import { serviceIndex } from "./query.ts";
import { PassLoop } from "../pass-loop.ts";

/** How often the controller looks at the hosts' statuses without a change (a host turns suspect). */
export const EndpointTickMs = 50;
/** Operations per transaction (etcd allows 128 by default). */
const BatchOps = 100;

/** Options of the EndpointController. */
export interface EndpointControllerOptions {
  store: Store;
  mirror: Mirror;
  clock: Clock;
  log: Logger;
  /** A host's status now (Liveness.status: only the leader knows "suspect"). */
  hostStatus: (hostId: string) => HostStatus;
  /** True while this server leads; nothing is written otherwise. */
  active: () => boolean;
  /** @default EndpointTickMs */
  tickMs?: number;
  /** When the host's status changes by the clock alone (Liveness.statusChangesAt). Without it (and
   * `revivals`), every tick asks every host. */
  statusChangesAt?: (hostId: string, now: number) => number;
  /** A count that grows when a host's status changed with neither the clock nor a store write
   * showing it (Liveness.revivals: a suspect host heard from again). */
  revivals?: () => number;
}

/** Keeps the stored endpoints equal to the tasks' (see the file comment). */
export class EndpointController {
  readonly #o: EndpointControllerOptions;
  /** A pass walks every task: the next one waits as long as the last took (at most half the CPU while
   * changes stream in, as during a rollout of 10,000 tasks; an idle registry still updates at once). */
  #notBefore = 0;
  /** The status of each host the last pass asked about (a tick passes again when one differs); null
   * until a pass has written all it had to. */
  #statuses: Map<string, HostStatus> | null = null;
  /** Before this clock time no host of #statuses can change by the clock alone (0: ask them now). */
  #due = 0;
  /** revivals() when #due was computed. */
  #revivalsSeen = Number.NaN;
  readonly #loop: PassLoop;

  constructor(opts: EndpointControllerOptions) {
    this.#o = opts;
    this.#loop = new PassLoop({
      mirror: opts.mirror,
      clock: opts.clock,
      pass: () => this.#pass(),
      onError: (err) => this.#o.log.warn({ err }, "writing endpoints failed; trying again"),
      active: opts.active,
      wants: (changes) => changes.some((c) => c.kind !== "endpoint" && c.kind !== "alloc" && c.kind !== "hostToken"),
      tickMs: opts.tickMs ?? EndpointTickMs,
      onTick: () => this.#statusChanged(),
    });
  }

  /** Starts following the mirror and ticking. */
  start(): void {
    this.#loop.start();
  }

  /** Asks for a pass at once (coalesced with one already asked for). */
  trigger(): void {
    this.#loop.trigger();
  }

  /** Runs a pass now (or one more after the current one); resolves when it is done. */
  run(): Promise<void> {
    return this.#loop.run();
  }

  /** Stops; resolves once a running pass is done. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** True when a host the last pass asked about has another status now (or no pass ran yet, or the
   * last one did not finish its writes). */
  #statusChanged(): boolean {
    if (this.#statuses === null) return true;
    const now = this.#o.clock.now();
    const revivals = this.#o.revivals?.() ?? Number.NaN;
    if (now < this.#due && revivals === this.#revivalsSeen) return false;
    let due = Number.POSITIVE_INFINITY;
    for (const [hostId, status] of this.#statuses) {
      if (this.#o.hostStatus(hostId) !== status) return true;
      due = Math.min(due, this.#o.statusChangesAt?.(hostId, now) ?? 0);
    }
    this.#due = due;
    this.#revivalsSeen = revivals;
    return false;
  }

  async #pass(): Promise<void> {
    // Here rather than in trigger(): a change during a pass asks SerialPasses for one more at once.
    const wait = this.#notBefore - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const started = performance.now();
    // Each host's status once per pass (not once per task), remembered for the ticks.
    const statuses = new Map<string, HostStatus>();
    const statusOf = (hostId: string): HostStatus => {
      let s = statuses.get(hostId);
      if (s === undefined) statuses.set(hostId, (s = this.#o.hostStatus(hostId)));
      return s;
    };
    const ops = endpointWrites(this.#o.mirror, statusOf, this.#o.clock.now());
    this.#notBefore = 2 * performance.now() - started;
    // Until the writes are done, the ticks keep asking for passes (a failed pass is retried).
    this.#statuses = null;
    // All removals at once, then all puts (removals first: a client stops using a bad endpoint before
    // it learns a new one). The batches of a group are sent together, not one after the other: the
    // SQLite store commits them as one group (one revision batch, one fan-out to the watchers), and
    // etcd takes them in parallel. Waiting for each batch's answer put the next behind the fan-out
    // of the one before to every watcher (with 1,000 watchers, over a second each), so a host's
    // hundreds of endpoints went seconds apart instead of at once. Their keys differ and each
    // compares the revision the pass read, so no batch depends on another.
    let last = 0;
    let lost = false;
    for (const group of [ops.filter((w) => w.op.type === "delete"), ops.filter((w) => w.op.type !== "delete")]) {
      const batches: EndpointWrite[][] = [];
      for (let i = 0; i < group.length; i += BatchOps) batches.push(group.slice(i, i + BatchOps));
      const results = await Promise.all(batches.map((batch) => this.#o.store.txn({ compare: batch.map((w) => w.compare), success: batch.map((w) => w.op) })));
      for (const r of results) {
        // Another write came first (a former leader's, or ours seen late): look again after the mirror has it.
        if (!r.succeeded) lost = true;
        else last = Math.max(last, r.revision);
      }
    }
    if (last > 0) await this.#o.mirror.waitFor(last);
    if (lost) this.#loop.again();
    else {
      this.#statuses = statuses;
      this.#due = 0; // the next tick asks every host (one may have changed during the writes)
    }
  }
}

/** One write of the registry: the op and the compare that keeps it from overwriting a newer one. */
export interface EndpointWrite {
  op: Op;
  compare: Compare;
}

/** The writes that make the stored endpoints what the mirror's tasks say, removals first (a client
 * should stop using a bad endpoint before it learns a new one). */
export function endpointWrites(mirror: Mirror, hostStatus: (hostId: string) => HostStatus, now: number): EndpointWrite[] {
  const removals: EndpointWrite[] = [];
  const puts: EndpointWrite[] = [];
  const want = new Set<string>();
  const guard = (key: string): Compare => ({ key, target: "modRevision", op: "==", value: mirror.modRevision(key) });
  // Which job owns each service name now: apply refuses a second owner, but a task still running an
  // older version may name a service another job took since; such a task is not listed under it.
  const owners = serviceIndex(mirror);
  for (const [job, byIndex] of mirror.tasks) {
    // A job none of whose versions offers a service has no endpoint to want: its tasks are not walked
    // (a 10,000-task worker job cost a walk on every pass, passes running back to back in a rollout).
    if (!offersAny(mirror, job)) continue;
    const record = mirror.jobs.get(job)?.value ?? null;
    for (const [index, entry] of byIndex) {
      const task = entry.value;
      const attempt = task.attemptId === null ? null : (mirror.attempts.get(task.attemptId)?.value ?? null);
      const spec = mirror.spec(job, attempt?.version ?? task.version)?.spec ?? null;
      // A task runs one version: its services are that version's (a rollout renaming them moves each task over).
      for (const offer of spec === null ? [] : servicesOf(spec)) {
        const owner = owners.get(offer.name)?.job;
        if (owner !== undefined && owner !== job) continue;
        const key = endpointKey(offer.name, index);
        const stored: Endpoint | null = mirror.endpoints.get(offer.name)?.get(index)?.value ?? null;
        const d = desiredEndpoint({
          job: record, task, attempt, spec, offer,
          host: task.hostId === null ? null : (mirror.hosts.get(task.hostId)?.value ?? null),
          hostStatus: task.hostId === null ? "down" : hostStatus(task.hostId),
          since: stored?.since ?? now,
        });
        if (!d.ok) continue;
        want.add(key);
        if (stored !== null && sameEndpoint(stored, d.endpoint)) continue;
        puts.push({ op: { type: "put", key, value: Kinds.endpoint.encode(stored !== null && stored.attemptId === d.endpoint.attemptId ? d.endpoint : { ...d.endpoint, since: now }) }, compare: guard(key) });
      }
    }
  }
  for (const [service, byIndex] of mirror.endpoints) {
    for (const index of byIndex.keys()) {
      const key = endpointKey(service, index);
      if (!want.has(key)) removals.push({ op: { type: "delete", key }, compare: guard(key) });
    }
  }
  return [...removals, ...puts];
}

/** True when some stored version of the job offers a service (what a task of it may run). */
function offersAny(mirror: Mirror, job: string): boolean {
  for (const e of mirror.versions.get(job)?.values() ?? []) if (servicesOf(e.value.spec).length > 0) return true;
  return false;
}
