// The agent's scraper: every running task whose job declares `metrics` is scraped on its interval
// (scrape.ts bounds each scrape's time and bytes), the numbers its signals need are kept for a short
// window (signals.ts), and a compact summary per task goes to the server every `reportEveryMs`. At
// most `maxConcurrent` scrapes run at once, and a target is never scraped again while its last scrape
// is in flight, so slow endpoints cannot pile up requests. A failed send is not retried: the next
// report carries newer figures.
import type { Logger } from "pino";
import type { MetricHealthCheck, MetricsEndpoint, NamedReading, ScrapeErrorKind, TaskMetrics } from "../../model/index.ts";
import { namedReadingsOf } from "./named.ts";
import { samplesNeeded } from "./needed.ts";
import { stepChecks } from "./checks.ts";
import type { CheckRun } from "./checks.ts";
import { isParseError, parsePromText } from "./prom-text.ts";
import { scrapeOnce } from "./scrape.ts";
import { pointOf, signalsOf } from "./signals.ts";
import type { ScrapePoint, TaskSignals } from "./signals.ts";

/** A task to scrape: `url` null when it cannot be reached from the agent (says why). */
export interface ScrapeTarget {
  attemptId: string;
  endpoint: MetricsEndpoint;
  url: string | null;
  unreachable?: string;
  /** The job's metric health checks, judged on every scrape (checks.ts); absent when none. */
  checks?: readonly MetricHealthCheck[];
  /** When the attempt started (checks' grace counts from it); null: unknown, from when first seen. */
  startedAt?: number | null;
  /** Named metrics the job's rollout checks compare: their latest readings go with the summary (named.ts). */
  named?: readonly string[];
}

/** Options of MetricsScraper. */
export interface MetricsScraperOptions {
  /** The tasks to scrape now (asked on every tick). */
  targets(): ScrapeTarget[];
  /** Sends summaries; null when the agent is not registered yet. */
  send(tasks: TaskMetrics[]): Promise<unknown> | null;
  log: Logger;
  /** @default 10000 */
  reportEveryMs?: number;
  /** @default 250 */
  tickMs?: number;
  /** @default 8 */
  maxConcurrent?: number;
  /** How long a report a firing check asks for waits for others (many tasks breaching together
   * make one report, not one each). @default 100 */
  coalesceMs?: number;
  /** @default 4 MiB */
  maxBytes?: number;
  /** Sees each scrape's result ("ok" or the error kind) and seconds (null: not attempted). @default none */
  onScrape?: (result: string, seconds: number | null) => void;
  /** Samples per scrape at most. @default 100000 */
  maxSamples?: number;
}

interface TargetState {
  target: ScrapeTarget;
  window: ScrapePoint[];
  nextAt: number;
  inFlight: boolean;
  scrapes: number;
  scrapeErrors: number;
  up: boolean;
  lastError: TaskMetrics["lastError"];
  series: number;
  scrapeMs: number | null;
  firstSeen: number;
  checks: CheckRun[];
  /** The latest readings of the target's named metrics (empty until a scrape had them). */
  named: NamedReading[];
  /** The sample names its signals and named metrics read (needed.ts), and the target they are of. */
  keep: { of: ScrapeTarget; names: ReadonlySet<string> } | null;
}

/** How long the window of a target keeps scrapes: a minute, or three intervals when longer. */
export function windowMsOf(intervalMs: number): number {
  return Math.max(60_000, 3 * intervalMs);
}

/** Scrapes tasks' metrics endpoints and reports summaries. */
export class MetricsScraper {
  readonly #o: MetricsScraperOptions;
  readonly #states = new Map<string, TargetState>();
  #inFlight = 0;
  #tick: NodeJS.Timeout | null = null;
  #report: NodeJS.Timeout | null = null;
  #soon: NodeJS.Timeout | null = null;

  constructor(o: MetricsScraperOptions) {
    this.#o = o;
  }

  /** Starts the scrape and report timers. */
  start(): void {
    this.#tick = setInterval(() => this.tick(), this.#o.tickMs ?? 250);
    this.#report = setInterval(() => void this.#sendNow(), this.#o.reportEveryMs ?? 10_000);
    this.#tick.unref();
    this.#report.unref();
  }

  /** Stops scraping and reporting (scrapes in flight end on their own timeout). */
  close(): void {
    if (this.#tick) clearInterval(this.#tick);
    if (this.#report) clearInterval(this.#report);
    if (this.#soon) clearTimeout(this.#soon);
    this.#tick = this.#report = this.#soon = null;
  }

  /** Scrapes in flight now (tests, bench). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** One round: forget ended tasks, start the scrapes that are due. */
  tick(now = Date.now()): void {
    const targets = this.#o.targets();
    const ids = new Set(targets.map((t) => t.attemptId));
    for (const id of this.#states.keys()) if (!ids.has(id)) this.#states.delete(id);
    for (const t of targets) {
      let s = this.#states.get(t.attemptId);
      if (!s) {
        s = { target: t, window: [], nextAt: now, inFlight: false, scrapes: 0, scrapeErrors: 0, up: false, lastError: null, series: 0, scrapeMs: null, firstSeen: now, checks: [], named: [], keep: null };
        this.#states.set(t.attemptId, s);
      }
      // New checks (a version that changed only them keeps the attempt): judge them afresh.
      if (t.checks !== s.target.checks && JSON.stringify(t.checks) !== JSON.stringify(s.target.checks)) s.checks = [];
      s.target = t;
    }
    this.#startDue(now);
  }

  /** Starts due scrapes while fewer than maxConcurrent run: on each tick and as each scrape ends, so
   * the rate is bounded by the scrapes' own time, not by the tick (8 a tick would be 32 a second). */
  #startDue(now: number): void {
    const max = this.#o.maxConcurrent ?? 8;
    for (const s of this.#states.values()) {
      if (this.#inFlight >= max) return;
      if (s.inFlight || now < s.nextAt) continue;
      s.nextAt = now + s.target.endpoint.intervalMs;
      void this.#scrape(s);
    }
  }

  /** The summary of every target scraped at least once. */
  summaries(now = Date.now()): TaskMetrics[] {
    return [...this.#states.values()]
      .filter((s) => s.scrapes > 0)
      .map((s) => ({
        attemptId: s.target.attemptId,
        at: now,
        up: s.up,
        scrapes: s.scrapes,
        scrapeErrors: s.scrapeErrors,
        lastError: s.lastError,
        series: s.series,
        scrapeMs: s.scrapeMs,
        ...signalsOf(s.window, s.target.endpoint.quantile),
        ...(s.target.checks && s.target.checks.length > 0 ? { checks: s.checks.map((c) => c.verdict) } : {}),
        ...(s.named.length > 0 ? { named: s.named } : {}),
      }));
  }

  async #scrape(s: TargetState): Promise<void> {
    const { target } = s;
    const fail = (kind: ScrapeErrorKind, message: string, ms: number | null = null): void => {
      this.#o.onScrape?.(kind, ms === null ? null : ms / 1000);
      s.scrapeErrors++;
      s.up = false;
      s.lastError = { kind, message: message.slice(0, 500), at: Date.now() };
      this.#judge(s, null, Date.now());
    };
    s.scrapes++;
    if (target.url === null) {
      fail("no-port", target.unreachable ?? "the task has no such port");
      return;
    }
    s.inFlight = true;
    this.#inFlight++;
    try {
      const r = await scrapeOnce(target.url, { timeoutMs: target.endpoint.timeoutMs, ...(this.#o.maxBytes !== undefined ? { maxBytes: this.#o.maxBytes } : {}) });
      s.scrapeMs = r.ms;
      if (!r.ok) return fail(r.kind, r.message, r.ms);
      if (s.keep?.of !== target) s.keep = { of: target, names: samplesNeeded(target.endpoint.signals, target.named) };
      const expo = parsePromText(r.text, { maxSamples: this.#o.maxSamples ?? 100_000, openMetrics: r.openMetrics, keep: s.keep.names });
      if (isParseError(expo)) return fail("malformed", `${target.url} line ${expo.line}: ${expo.message}`, r.ms);
      this.#o.onScrape?.("ok", r.ms / 1000);
      const at = Date.now();
      s.up = true;
      s.series = expo.count;
      s.window.push(pointOf(expo, target.endpoint.signals, target.endpoint.quantile, at));
      if (target.named && target.named.length > 0) s.named = namedReadingsOf(expo, target.named, at);
      const since = at - windowMsOf(target.endpoint.intervalMs);
      while (s.window.length > 2 && (s.window[0]?.at ?? at) < since) s.window.shift();
      // A check reads the last interval only (the two newest scrapes), so it reacts within one scrape.
      // Without checks there is nothing to judge, and the signals are not derived on every scrape.
      if (target.checks && target.checks.length > 0) this.#judge(s, signalsOf(s.window.slice(-2), target.endpoint.quantile), at);
    } finally {
      s.inFlight = false;
      this.#inFlight--;
      if (this.#tick !== null) this.#startDue(Date.now());
    }
  }

  /** Judges the target's metric checks on this scrape; a check that starts or stops firing is
   * reported at once rather than with the next periodic report. */
  #judge(s: TargetState, signals: TaskSignals | null, at: number): void {
    const checks = s.target.checks;
    if (!checks || checks.length === 0) return;
    const r = stepChecks(checks, s.checks, signals, at, s.target.startedAt ?? s.firstSeen);
    s.checks = r.runs;
    if (r.changed) this.#sendSoon();
  }

  #sendSoon(): void {
    if (this.#soon !== null) return;
    this.#soon = setTimeout(() => {
      this.#soon = null;
      void this.#sendNow();
    }, this.#o.coalesceMs ?? 100);
    this.#soon.unref();
  }

  async #sendNow(): Promise<void> {
    const tasks = this.summaries();
    if (tasks.length === 0) return;
    try {
      await this.#o.send(tasks);
    } catch (err) {
      this.#o.log.warn({ err }, "metrics report failed");
    }
  }
}
