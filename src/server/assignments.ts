// The assignment streams of agents: each host's FULL set of non-terminal attempts (desired run and
// stop), each with the spec of its version (a batch job's without its work items), resent whenever a change touches that host (coalesced to
// one send per event-loop turn, and only when the set differs from what that stream last got: by
// record identity, sameAssignments).

import type { Assignment } from "../api/types.ts";
import { isTerminal } from "../model/index.ts";
import type { JobSpec } from "../model/index.ts";
import { Prefix } from "./keys.ts";
import { changeAs } from "./mirror.ts";
import type { Change, Mirror } from "./mirror.ts";

const assigned = new WeakMap<JobSpec, JobSpec>();

/** The spec an agent gets with an attempt: a batch job's work items left out (each attempt carries its
 * own, `attempt.batch.value`), so a host with hundreds of items of a 10,000-item job is not sent the
 * whole list once per item. The same object for the same spec (cached), so sets compare cheaply. */
export function assignedSpec(spec: JobSpec): JobSpec {
  if (!spec.batch?.items) return spec;
  let out = assigned.get(spec);
  if (!out) assigned.set(spec, (out = { ...spec, batch: { ...spec.batch, items: null } }));
  return out;
}

interface Subscriber {
  send: (a: Assignment[]) => void;
  /** The set last sent (null: none yet). */
  last: Assignment[] | null;
}

/** True when two sets hold the very same attempt and spec records (the mirror replaces a record's
 * object whenever it changes) and equal secrets: the stream need not get it again. Comparing the
 * objects instead of their JSON saves a stringify of every host's set on every change near it (a
 * rollout of 10,000 tasks: one per agent report). */
export function sameAssignments(a: readonly Assignment[] | null, b: readonly Assignment[]): boolean {
  if (a === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (!x || !y || x.attempt !== y.attempt || x.spec !== y.spec) return false;
    if ((x.secrets !== undefined || y.secrets !== undefined) && JSON.stringify(x.secrets) !== JSON.stringify(y.secrets)) return false;
  }
  return true;
}

/** Fans assignment sets out to the agents' streams. */
export class AssignmentHub {
  readonly #mirror: Mirror;
  readonly #subs = new Map<string, Set<Subscriber>>();
  readonly #dirty = new Set<string>();
  /** Hosts whose lease came back: their streams get the set even if unchanged. */
  readonly #forced = new Set<string>();
  #scheduled = false;
  readonly #unsubscribe: () => void;

  /** Opens a secret for an assignment (null: the box cannot open it; the agent then fails the start). */
  readonly #open: (name: string) => string | null;

  constructor(mirror: Mirror, open: (name: string) => string | null = () => null) {
    this.#mirror = mirror;
    this.#open = open;
    this.#unsubscribe = mirror.onChange((changes) => this.#onChanges(changes));
  }

  /** The host's current set. */
  assignments(hostId: string): Assignment[] {
    const out: Assignment[] = [];
    for (const id of this.#mirror.attemptsByHost.get(hostId) ?? []) {
      const a = this.#mirror.attempts.get(id)?.value;
      if (!a || isTerminal(a.state)) continue;
      const v = this.#mirror.spec(a.job, a.version);
      if (v) out.push({ attempt: a, spec: assignedSpec(v.spec), ...this.#secretsOf(v.spec) });
    }
    return out.sort((x, y) => x.attempt.createdAt - y.attempt.createdAt || (x.attempt.id < y.attempt.id ? -1 : 1));
  }

  /** The values of the secrets a spec uses: in the assignment only, for the host that runs it. */
  #secretsOf(spec: JobSpec): { secrets?: Record<string, string> } {
    const names = new Set([...Object.values(spec.secretEnv ?? {}), ...Object.values(spec.secretFiles ?? {})]);
    if (names.size === 0) return {};
    const secrets: Record<string, string> = {};
    for (const n of names) {
      const v = this.#open(n);
      if (v !== null) secrets[n] = v;
    }
    return { secrets };
  }

  /** Sends the current set now and on every change; returns the unsubscribe function. */
  subscribe(hostId: string, send: (a: Assignment[]) => void): () => void {
    const sub: Subscriber = { send, last: null };
    let set = this.#subs.get(hostId);
    if (!set) this.#subs.set(hostId, (set = new Set()));
    set.add(sub);
    this.#deliver(hostId, sub, true);
    return () => {
      set.delete(sub);
      if (set.size === 0) this.#subs.delete(hostId);
    };
  }

  /** Resends the set to every stream of a host, even if unchanged (a host that came back). */
  resend(hostId: string): void {
    for (const sub of this.#subs.get(hostId) ?? []) this.#deliver(hostId, sub, true);
  }

  /** Stops following the mirror. */
  close(): void {
    this.#unsubscribe();
    this.#subs.clear();
  }

  #onChanges(changes: Change[]): void {
    for (const c of changes) {
      const a = changeAs(c, "attempt");
      if (a) {
        for (const v of [a.prev, a.next]) {
          const host = v?.hostId;
          if (host && this.#subs.has(host)) this.#dirty.add(host);
        }
      } else if (c.key.startsWith(Prefix.secretValues)) {
        // A set or removed secret: resend to the hosts whose attempts use it (their sets now differ).
        for (const h of this.#subs.keys()) this.#dirty.add(h);
      } else if (c.key.startsWith(Prefix.alive)) {
        const host = c.key.slice(Prefix.alive.length);
        if (!this.#subs.has(host)) continue;
        this.#dirty.add(host);
        if (c.prev === null && c.next !== null) this.#forced.add(host);
      }
    }
    if (this.#dirty.size === 0 || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const hosts = [...this.#dirty];
      const forced = new Set(this.#forced);
      this.#dirty.clear();
      this.#forced.clear();
      for (const h of hosts) for (const sub of this.#subs.get(h) ?? []) this.#deliver(h, sub, forced.has(h));
    });
  }

  #deliver(hostId: string, sub: Subscriber, force: boolean): void {
    const set = this.assignments(hostId);
    if (!force && sameAssignments(sub.last, set)) return;
    sub.last = set;
    sub.send(set);
  }
}
