// The agent's standing with the server: its identity (DIR/agent.json), registration, the heartbeat
// loop, and the time of the last successful contact that the disconnect policy is measured from.

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import type { Logger } from "pino";
import { z } from "zod";
import { checkAnswer, registerResponseSchema } from "../api/agent-wire.ts";
import type { RegisterResponse } from "../api/types.ts";
import type { HostInventory, MachineCheckResult, RepairRequest, RepairResult } from "../model/index.ts";
import type { AgentClient, CallResult } from "./client.ts";

/** Identity and timing from the last registration, kept in DIR/agent.json. */
export interface Identity extends RegisterResponse {
  name: string;
  server: string;
}

/** DIR/agent.json as the agent reads it back. */
const identitySchema = registerResponseSchema.extend({ name: z.string(), server: z.string() });

/** What a Session needs. */
export interface SessionOptions {
  client: AgentClient;
  joinToken: string;
  /** DIR/agent.json */
  identityFile: string;
  inventory: () => Promise<HostInventory>;
  log: Logger;
  /** After each successful registration; `tokenChanged` when the host token differs from before. */
  onRegistered: (tokenChanged: boolean) => void;
  /** Machine checks that ride with heartbeats (machine-checks/checker.ts MachineChecker). */
  checks?: HeartbeatChecks;
  /** Repairs the server asks for in heartbeat answers (machine-checks/repair.ts RepairRunner). */
  repairs?: { request(req: RepairRequest): void; result(): RepairResult | null; sent(r: RepairResult): void };
  /** The cluster's CAs as a heartbeat answer names them (under TLS; tls.ts AgentTls.serverCa). */
  onCa?: (ca: { signing: string; trust: string[] }) => void;
}

/** What heartbeats carry for the machine checks, and what they bring back (the server's time). */
export interface HeartbeatChecks {
  /** The changes the server has not taken yet. */
  pending(): MachineCheckResult[];
  /** True when `pending()` is every check the agent runs (sent once after a registration). */
  complete(): boolean;
  /** The server took these (`complete` as sent). */
  sent(results: readonly MachineCheckResult[], complete: boolean): void;
  /** Everything again (after a registration). */
  resendAll(): void;
  /** The server's time in a heartbeat answer, with the local send and receive times. */
  serverTime(sentAt: number, receivedAt: number, serverTime: number): void;
}

/** Registration, heartbeats and contact time with the server. */
export class Session {
  readonly #o: SessionOptions;
  #identity: Identity | null = null;
  #lastContact = Date.now();
  #needRegister = true;
  #timer: NodeJS.Timeout | null = null;
  #running = false;

  constructor(opts: SessionOptions) {
    this.#o = opts;
  }

  /** The current identity (the saved one until a registration succeeds), or null. */
  get identity(): Identity | null {
    return this.#identity;
  }

  /** Epoch ms of the last successful call or event from the server. */
  get lastContact(): number {
    return this.#lastContact;
  }

  /** Records a successful contact with the server. */
  contact(): void {
    this.#lastContact = Date.now();
  }

  /** Loads DIR/agent.json, if an earlier run left one. */
  async load(): Promise<Identity | null> {
    let saved: unknown;
    try {
      saved = JSON.parse(await fs.promises.readFile(this.#o.identityFile, "utf8"));
    } catch {
      saved = null;
    }
    // A damaged file is no identity: the agent registers afresh (a name already registered then
    // needs `tiffin hosts remove`, which the register error says).
    const checked = saved === null ? null : checkAnswer(identitySchema, saved);
    if (checked !== null && !checked.ok) this.#o.log.warn({ file: this.#o.identityFile, problem: checked.problem }, "saved identity ignored");
    this.#identity = checked?.ok ? checked.value : null;
    return this.#identity;
  }

  /** Registers with the join token, proving with the saved host token (if any) that this agent is the
   * host it names; on success saves the identity. */
  async register(): Promise<CallResult<RegisterResponse>> {
    const inventory = await this.#o.inventory();
    const saved = this.#identity?.hostToken;
    // A first registration proposes a token kept on disk before it asks: if the answer is lost, the
    // retry (or a restart) proposes the same one and the server knows it as that host's.
    const proposed = saved ? null : await proposedToken(`${this.#o.identityFile}.proposed`);
    const r = await this.#o.client.register(this.#o.joinToken, { inventory, ...(saved ? { hostToken: saved } : {}), ...(proposed !== null ? { proposedToken: proposed } : {}) });
    if (!r.ok) return r;
    const tokenChanged = this.#identity?.hostToken !== r.value.hostToken;
    this.#identity = { ...r.value, name: inventory.name, server: this.#o.client.baseUrl };
    const tmp = `${this.#o.identityFile}.tmp`;
    await fs.promises.writeFile(tmp, JSON.stringify(this.#identity, null, 2), { mode: 0o600 });
    await fs.promises.chmod(tmp, 0o600); // the host token: a tmp file left by a crash kept its old mode
    await fs.promises.rename(tmp, this.#o.identityFile);
    if (proposed !== null) await fs.promises.rm(`${this.#o.identityFile}.proposed`, { force: true });
    this.#needRegister = false;
    this.contact();
    this.#o.log.info({ hostId: r.value.hostId, heartbeatMs: r.value.heartbeatMs, fenceMs: r.value.fenceMs }, "registered");
    this.#o.checks?.resendAll();
    this.#o.onRegistered(tokenChanged);
    return r;
  }

  /** Starts the heartbeat loop. A heartbeat answering `reregister` (or a 401) makes the next beat a register. */
  start(): void {
    this.#running = true;
    this.#schedule(this.#needRegister ? 250 : this.#beatMs());
  }

  /** Beats now instead of waiting; `reregister` makes it a registration (the server forgot us, or a 401). */
  wake(reregister: boolean): void {
    if (reregister) this.#needRegister = true;
    if (this.#running) this.#schedule(0);
  }

  /** One heartbeat announcing a planned absence (agent upgrade); true when the server took it. */
  async announceUpgrade(upgradeMs: number): Promise<boolean> {
    const id = this.#identity;
    if (!id) return false;
    const r = await this.#o.client.heartbeat(id.hostToken, { hostId: id.hostId, upgradeMs });
    if (!r.ok) this.#o.log.warn({ error: r.message }, "could not announce the upgrade to the server");
    return r.ok;
  }

  /** Stops the heartbeat loop. */
  stop(): void {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #beatMs(): number {
    return this.#identity?.heartbeatMs ?? 5000;
  }

  #schedule(ms: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#beat().finally(() => {
        if (this.#running && !this.#timer) this.#schedule(this.#beatMs());
      });
    }, ms);
  }

  async #beat(): Promise<void> {
    const id = this.#identity;
    if (!id || this.#needRegister) {
      const r = await this.register();
      if (!r.ok) this.#o.log.warn({ status: r.status, error: r.message }, "register failed; will retry");
      return;
    }
    // Short enough that a server that hangs (stopped, overloaded) leaves time to reach another one
    // before the host's lease runs out.
    const timeoutMs = Math.max(1000, Math.min(10_000, Math.floor((id.downAfterMs ?? 30_000) / 3)));
    const checks = this.#o.checks?.pending() ?? [];
    const checksComplete = this.#o.checks?.complete() ?? false;
    const sentAt = Date.now();
    const repairResult = this.#o.repairs?.result() ?? null;
    const r = await this.#o.client.heartbeat(id.hostToken, { hostId: id.hostId, ...(checks.length > 0 ? { checks } : {}), ...(checksComplete ? { checksComplete } : {}), ...(repairResult ? { repairResult } : {}) }, { timeoutMs });
    if (!r.ok) {
      this.#o.log.warn({ status: r.status, error: r.message, sinceContactMs: Date.now() - this.#lastContact }, "heartbeat failed");
      if (r.status === 401) this.wake(true);
      return;
    }
    this.contact();
    if (r.value.ok) this.#o.checks?.sent(checks, checksComplete);
    if (r.value.ok && repairResult) this.#o.repairs?.sent(repairResult);
    if (r.value.repair) this.#o.repairs?.request(r.value.repair);
    if (r.value.ca) this.#o.onCa?.(r.value.ca);
    if (r.value.serverTime !== undefined) this.#o.checks?.serverTime(sentAt, Date.now(), r.value.serverTime);
    // The server stretches the interval as the fleet grows; follow it.
    const every = r.value.heartbeatMs;
    if (every !== undefined && every > 0 && every !== id.heartbeatMs) this.#identity = { ...id, heartbeatMs: every };
    if (r.value.reregister) {
      this.#o.log.warn("server asked to re-register");
      this.wake(true);
    }
  }
}

/** The token kept in `file` (0600), made (256 random bits, base64url) if there is none or it is damaged. */
async function proposedToken(file: string): Promise<string> {
  try {
    const kept = (await fs.promises.readFile(file, "utf8")).trim();
    if (/^[A-Za-z0-9_-]{43,128}$/.test(kept)) return kept;
  } catch {
    // none yet
  }
  const token = randomBytes(32).toString("base64url");
  const tmp = `${file}.tmp`;
  await fs.promises.writeFile(tmp, token, { mode: 0o600 });
  await fs.promises.chmod(tmp, 0o600);
  await fs.promises.rename(tmp, file);
  return token;
}
