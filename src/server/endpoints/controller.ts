// The registry's writer: while this server leads, it keeps `/endpoints/` equal to what
// `desiredEndpoint` says of every task, writing the difference as soon as the mirror shows a change
// (a report of an unhealthy or ended attempt, a stop decided, a host's lease gone) and every
// `tickMs` (a host turns suspect by time alone, with no write to react to).
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
import { SerialPasses } from "../serial-passes.ts";

/** How often the controller looks again without a change (suspect hosts). */
export const EndpointTickMs = 250;
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
}

/** Keeps the stored endpoints equal to the tasks' (see the file comment). */
export class EndpointController {
  readonly #o: EndpointControllerOptions;
  #unsubscribe: (() => void) | null = null;
  #tick: { cancel(): void } | null = null;
  #scheduled = false;
  /** A pass walks every task: the next one waits as long as the last took (at most half the CPU while
   * changes stream in, as during a rollout of 10,000 tasks; an idle registry still updates at once). */
  #notBefore = 0;
  #stopped = false;
  readonly #passes: SerialPasses;

  constructor(opts: EndpointControllerOptions) {
    this.#o = opts;
    this.#passes = new SerialPasses({
      pass: () => this.#pass(),
      onError: (err) => this.#o.log.warn({ err }, "writing endpoints failed; trying again"),
      go: () => this.#o.active() && !this.#stopped,
    });
  }

  /** Starts following the mirror and ticking. */
  start(): void {
    this.#unsubscribe = this.#o.mirror.onChange((changes) => {
      if (changes.some((c) => c.kind !== "endpoint" && c.kind !== "alloc" && c.kind !== "hostToken")) this.trigger();
    });
    const tick = (): void => {
      if (this.#stopped) return;
      this.trigger();
      this.#tick = this.#o.clock.setTimeout(tick, this.#o.tickMs ?? EndpointTickMs);
    };
    tick();
  }

  /** Asks for a pass at once (coalesced with one already asked for). */
  trigger(): void {
    if (this.#stopped || this.#scheduled) return;
    this.#scheduled = true;
    const go = (): void => {
      this.#scheduled = false;
      void this.run();
    };
    setImmediate(go);
  }

  /** Runs a pass now (or one more after the current one); resolves when it is done. */
  run(): Promise<void> {
    return this.#passes.run();
  }

  /** Stops; resolves once a running pass is done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#tick?.cancel();
    await this.#passes.idle();
  }

  async #pass(): Promise<void> {
    // Here rather than in trigger(): a change during a pass asks SerialPasses for one more at once.
    const wait = this.#notBefore - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const started = performance.now();
    const ops = endpointWrites(this.#o.mirror, this.#o.hostStatus, this.#o.clock.now());
    this.#notBefore = 2 * performance.now() - started;
    for (let i = 0; i < ops.length; i += BatchOps) {
      const batch = ops.slice(i, i + BatchOps);
      const r = await this.#o.store.txn({ compare: batch.map((w) => w.compare), success: batch.map((w) => w.op) });
      // Another write came first (a former leader's, or ours seen late): look again after the mirror has it.
      if (!r.succeeded) this.#passes.again();
      else await this.#o.mirror.waitFor(r.revision);
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
