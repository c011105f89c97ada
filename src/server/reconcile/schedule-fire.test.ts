import { test } from "node:test";
import assert from "node:assert/strict";
import { newRun } from "../../model/index.ts";
import type { BatchPolicy, Run, SchedulePolicy, ScheduleState } from "../../model/index.ts";
import { decideFire, jitterOf, scheduledRunId } from "./schedule-fire.ts";
import type { FireInput } from "./schedule-fire.ts";
import { fireTimes } from "../schedules.ts";

const batch: BatchPolicy = { completions: 1, parallelism: 1, items: null, retries: { limit: 0, backoffInitialMs: 1, backoffMaxMs: 1 }, deadlineMs: null, successCount: null, failedItems: "finish", keepRuns: 5 };
const every10s: SchedulePolicy = { cron: "*/10 * * * * *", timeZone: "UTC", overlap: "skip", missed: "once", jitterMs: 0 };
const T = Date.UTC(2026, 11, 6, 12, 0, 0);
const state = (lastFireAt: number): ScheduleState => ({ job: "nightly", lastFireAt, lastRun: null, note: "" });
const running = (id: string): Run => ({ ...newRun({ job: "nightly", id, version: 1, policy: batch, cause: "schedule", now: T }), state: "running" });

function fire(over: Partial<FireInput> & { schedule?: SchedulePolicy }): ReturnType<typeof decideFire> {
  const schedule = over.schedule ?? every10s;
  return decideFire({ job: "nightly", version: 1, batch, state: state(T), runs: [], now: T, fireTimes: (a, u) => fireTimes(schedule, a, u), ...over, schedule });
}

void test("fireTimes: croner's times in (after, until], in the schedule's time zone", () => {
  assert.deepEqual(fireTimes(every10s, T, T + 30_000), [T + 10_000, T + 20_000, T + 30_000]);
  // 09:00 in Berlin is 08:00 UTC in December.
  const berlin: SchedulePolicy = { ...every10s, cron: "0 9 * * *", timeZone: "Europe/Berlin" };
  assert.deepEqual(fireTimes(berlin, T - 12 * 3_600_000, T), [Date.UTC(2026, 11, 6, 8, 0, 0)]);
  // A long outage of a per-second schedule: the list is capped, the newest time is in it.
  const perSecond: SchedulePolicy = { ...every10s, cron: "* * * * * *" };
  assert.equal(fireTimes(perSecond, T, T + 3_600_000).at(-1), T + 3_600_000);
});

void test("decideFire, by table", () => {
  const cases: { name: string; inp: Partial<FireInput> & { schedule?: SchedulePolicy }; want: { run: string | null; lastFireAt: number; cancel?: string[]; note: RegExp } | "none" }[] = [
    { name: "first look: counts from now, starts nothing", inp: { state: null, now: T + 5 }, want: { run: null, lastFireAt: T + 5, note: /schedule started/ } },
    { name: "nothing due yet", inp: { now: T + 9_999 }, want: "none" },
    { name: "a fire due: its run, named by its time", inp: { now: T + 10_000 }, want: { run: scheduledRunId(T + 10_000), lastFireAt: T + 10_000, note: /^started$/ } },
    { name: "handled already (stored time): nothing again", inp: { state: state(T + 10_000), now: T + 12_000 }, want: "none" },
    { name: "late but within LateMs: on time", inp: { now: T + 14_999 }, want: { run: scheduledRunId(T + 10_000), lastFireAt: T + 10_000, note: /^started$/ } },
    { name: "an outage, missed once: one run for the newest fire", inp: { now: T + 61_000 }, want: { run: scheduledRunId(T + 60_000), lastFireAt: T + 60_000, note: /missed 5 fires, ran once/ } },
    { name: "an outage, missed once, newest missed too", inp: { now: T + 66_000 }, want: { run: scheduledRunId(T + 60_000), lastFireAt: T + 60_000, note: /missed 6 fires, ran once/ } },
    { name: "an outage, missed skip, the newest on time: it runs", inp: { schedule: { ...every10s, missed: "skip" }, now: T + 61_000 }, want: { run: scheduledRunId(T + 60_000), lastFireAt: T + 60_000, note: /missed 5 fires, ran once/ } },
    { name: "an outage, missed skip, the newest late too: none runs", inp: { schedule: { ...every10s, missed: "skip" }, now: T + 66_000 }, want: { run: null, lastFireAt: T + 60_000, note: /missed 6 fires \(missed: skip\)/ } },
    { name: "overlap skip: the previous run goes on, the fire is skipped", inp: { now: T + 10_000, runs: [running("r0")] }, want: { run: null, lastFireAt: T + 10_000, note: /skipped: run r0 is still running/ } },
    { name: "overlap queue: a queued run", inp: { schedule: { ...every10s, overlap: "queue" }, now: T + 10_000, runs: [running("r0")] }, want: { run: scheduledRunId(T + 10_000), lastFireAt: T + 10_000, note: /queued/ } },
    { name: "overlap replace: the running one is cancelled", inp: { schedule: { ...every10s, overlap: "replace" }, now: T + 10_000, runs: [running("r0")] }, want: { run: scheduledRunId(T + 10_000), lastFireAt: T + 10_000, cancel: ["r0"], note: /replacing r0/ } },
  ];
  for (const c of cases) {
    const d = fire(c.inp);
    if (c.want === "none") {
      assert.deepEqual(d, { kind: "none" }, c.name);
      continue;
    }
    assert.equal(d.kind, "write", c.name);
    if (d.kind !== "write") continue;
    assert.equal(d.run?.id ?? null, c.want.run, c.name);
    assert.equal(d.state.lastFireAt, c.want.lastFireAt, c.name);
    assert.match(d.state.note, c.want.note, c.name);
    assert.deepEqual(d.cancel.map((r) => [r.id, r.state]), (c.want.cancel ?? []).map((id) => [id, "cancelled"]), c.name);
    if (d.run) assert.deepEqual([d.run.state, d.run.cause, d.run.items.length], ["queued", "schedule", 1], c.name);
  }
});

void test("jitter: each fire waits its own stable share, the same on every server", () => {
  const j = jitterOf("nightly", T + 10_000, 3000);
  assert.ok(j >= 0 && j <= 3000);
  assert.equal(jitterOf("nightly", T + 10_000, 3000), j, "stable");
  const jittered: SchedulePolicy = { ...every10s, jitterMs: 3000 };
  if (j > 0) assert.deepEqual(fire({ schedule: jittered, now: T + 10_000 + j - 1 }), { kind: "none" }, "not before its jitter");
  const d = fire({ schedule: jittered, now: T + 10_000 + j });
  assert.equal(d.kind === "write" ? d.run?.id : null, scheduledRunId(T + 10_000), "at its jitter");
});
