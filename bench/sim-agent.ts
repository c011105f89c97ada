// A simulated agent for the control-plane benches (bench/rollout.ts, bench/drain-dc.ts): it registers
// through the agent API real agents use, heartbeats, follows its assignment stream and reports attempt
// states, but runs no process. What it reports, and when, is the bench's `plan`: the loop around it
// (a report pass per assignment change and on a timer, one at a time, again if a change came during
// one) is here.

import { createAgentClient } from "../src/api/agent-client.ts";
import type { AgentClient } from "../src/api/agent-client.ts";
import { assignmentsSchema, checkAnswer } from "../src/api/agent-wire.ts";
import { watchSse } from "../src/api/sse-watch.ts";
import type { Assignment, AttemptUpdate, RegisterResponse } from "../src/api/types.ts";
import { inventoryOf } from "../src/server/testing/fixtures.ts";

/** How a simulated agent behaves. */
export interface SimAgentOptions {
  /** The server's URL. */
  url: string;
  name: string;
  labels: Record<string, string>;
  /** A call's timeout (a loaded machine answers registrations slowly). */
  callTimeoutMs: number;
  /** The assignment stream's connect timeout. */
  connectTimeoutMs: number;
  heartbeatMs: number;
  /** A report pass also runs this often (starts that came due, reports that did not get through). */
  actEveryMs: number;
  /** The updates to send now, given the latest assignments and the states already accepted by id. */
  plan: (latest: readonly Assignment[], reported: ReadonlyMap<string, string>, now: number) => AttemptUpdate[];
  /** Called with the updates just before they are sent (the bench's view of the data plane). */
  onSend?: (updates: readonly AttemptUpdate[], latest: readonly Assignment[]) => void;
  /** A refused report forgets what it sent (so `plan` decides those attempts afresh), else keeps the
   * states accepted before. @default false */
  forgetRefused?: boolean;
  /** Heartbeat as often as the server asks (its register and heartbeat answers; it stretches the
   * interval for a big fleet) instead of every `heartbeatMs`. @default false */
  serverInterval?: boolean;
  /** Called after each heartbeat with its round-trip time and whether the server accepted it. */
  onHeartbeat?: (ms: number, ok: boolean) => void;
}

/** One simulated agent of a bench's fleet. */
export class SimAgent {
  reg: RegisterResponse | null = null;
  readonly name: string;
  readonly #o: SimAgentOptions;
  readonly #api: AgentClient;
  #latest: Assignment[] = [];
  readonly #reported = new Map<string, string>();
  #acting = false;
  #again = false;
  #stopped = false;
  #close: (() => void) | null = null;

  constructor(o: SimAgentOptions) {
    this.#o = o;
    this.name = o.name;
    this.#api = createAgentClient(o.url, o.callTimeoutMs);
  }

  /** Registers (a 64-core host with the given labels), then follows assignments and heartbeats. */
  async start(joinToken: string): Promise<void> {
    const r = await this.#api.register(joinToken, { inventory: inventoryOf(this.name, { cores: 64, memoryMiB: 262_144, diskMiB: 1_000_000, labels: this.#o.labels }) });
    if (!r.ok) throw new Error(`register ${this.name}: ${r.message}`);
    const reg = (this.reg = r.value);
    const w = watchSse({
      url: () => this.#api.assignmentsUrl(),
      headers: () => ({ authorization: `Bearer ${reg.hostToken}` }),
      onEvent: (ev) => {
        if (ev.event !== "assignments") return;
        const checked = checkAnswer(assignmentsSchema, JSON.parse(ev.data));
        if (!checked.ok) throw new Error(checked.problem);
        this.#latest = checked.value;
        void this.#act();
      },
      backoffInitialMs: 100,
      backoffMaxMs: 1000,
      connectTimeoutMs: this.#o.connectTimeoutMs,
    });
    this.#close = () => w.close();
    void (async () => {
      while (!this.#stopped) {
        const t0 = performance.now();
        const r = await this.#api.heartbeat(reg.hostToken, { hostId: reg.hostId });
        this.#o.onHeartbeat?.(performance.now() - t0, r.ok);
        const every = this.#o.serverInterval === true ? (r.ok ? r.value.heartbeatMs : reg.heartbeatMs) : this.#o.heartbeatMs;
        await new Promise((res) => setTimeout(res, every));
      }
    })();
    void (async () => {
      while (!this.#stopped) {
        await new Promise((res) => setTimeout(res, this.#o.actEveryMs));
        await this.#act();
      }
    })();
  }

  /** Stops heartbeating and following (the host goes quiet, as a dead one does). */
  stop(): void {
    this.#stopped = true;
    this.#close?.();
  }

  async #act(): Promise<void> {
    if (this.#acting) {
      this.#again = true;
      return;
    }
    this.#acting = true;
    try {
      do {
        this.#again = false;
        await this.#report();
      } while (this.#again);
    } finally {
      this.#acting = false;
    }
  }

  async #report(): Promise<void> {
    const updates = this.#o.plan(this.#latest, this.#reported, Date.now());
    if (updates.length === 0 || !this.reg) return;
    this.#o.onSend?.(updates, this.#latest);
    const r = await this.#api.reportAttempts(this.reg.hostToken, { hostId: this.reg.hostId, updates });
    if (r.ok) for (const u of updates) this.#reported.set(u.id, u.state);
    else if (this.#o.forgetRefused === true) for (const u of updates) this.#reported.delete(u.id);
  }
}
