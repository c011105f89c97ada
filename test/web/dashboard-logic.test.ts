// The dashboard's pure parts, by tables: routes and the login fragment, host states, the fleet
// map's layout and hit test, how often it reads the hosts, the events feed's lines (and the Live
// memory behind them), a fetch's progress bar.

import { test } from "node:test";
import assert from "node:assert/strict";
import { hashOf, routeOf, tokenFromHash } from "../../web/src/route.ts";
import type { Route } from "../../web/src/route.ts";
import { cellAt, cellStateOf, countStates, layoutFleet, layoutOptionsFor } from "../../web/src/fleet-layout.ts";
import type { CellState, FleetHost } from "../../web/src/fleet-layout.ts";
import { describe, endOf, UnplacedFrom } from "../../web/src/feed.ts";
import { appendChunk } from "../../web/src/log-lines.ts";
import { rolloutCommands } from "../../web/src/rollout-commands.ts";
import { canDo } from "../../web/src/permissions.ts";
import { chartShape } from "../../web/src/chart.ts";
import { bytes } from "../../web/src/format.ts";
import type { Attempt, Host, HostStatus, SwarmFetcher, Task, WatchEvent } from "../../src/api/index.ts";
import { hostsReadEveryMs } from "../../web/src/fleet-layout.ts";
import { fetchBar, fetchLine } from "../../web/src/fetch-bars.ts";
import type { FetchBar } from "../../web/src/fetch-bars.ts";

void test("routes: each hash names a page, and hashOf is its inverse", () => {
  const cases: { hash: string; route: Route }[] = [
    { hash: "", route: { page: "fleet", host: null } },
    { hash: "#/fleet", route: { page: "fleet", host: null } },
    { hash: "#/hosts/h%2F1", route: { page: "fleet", host: "h/1" } },
    { hash: "#/jobs", route: { page: "jobs" } },
    { hash: "#/jobs/web", route: { page: "job", namespace: "default", name: "web" } },
    { hash: "#/namespaces/team-a/jobs/web", route: { page: "job", namespace: "team-a", name: "web" } },
    { hash: "#/namespaces/team-a/jobs/web/3", route: { page: "task", namespace: "team-a", job: "web", index: 3 } },
    { hash: "#/events", route: { page: "events" } },
    { hash: "#/packages", route: { page: "packages" } },
    { hash: "#/maintenance", route: { page: "maintenance" } },
    { hash: "#/jobs/web/2", route: { page: "task", namespace: "default", job: "web", index: 2 } },
    { hash: "#/jobs/web/x", route: { page: "job", namespace: "default", name: "web" } },
    { hash: "#/nonsense/x", route: { page: "fleet", host: null } },
  ];
  for (const c of cases) {
    assert.deepEqual(routeOf(c.hash), c.route, c.hash);
    assert.deepEqual(routeOf(hashOf(c.route)), c.route, `round trip of ${c.hash}`);
  }
});

void test("tokenFromHash: the token tiffin dev puts in the fragment, nothing else", () => {
  const cases: [string, string | null][] = [
    ["#token=abc123", "abc123"],
    ["#/token=abc123", "abc123"],
    ["#token=abc&x=1", "abc"],
    ["#token=", null],
    ["#token=%20", null],
    ["#/fleet", null],
    ["", null],
  ];
  for (const [hash, want] of cases) assert.equal(tokenFromHash(hash), want, hash);
});

void test("cellStateOf: liveness first, then failing checks, draining, upgrading", () => {
  const cases: [HostStatus, boolean, boolean, CellState][] = [
    ["up", false, false, "up"],
    ["down", true, true, "down"],
    ["suspect", true, false, "suspect"],
    ["up", true, true, "failing"],
    ["up", true, false, "draining"],
    ["upgrading", false, false, "upgrading"],
    ["upgrading", true, false, "draining"],
  ];
  for (const [status, draining, failing, want] of cases) assert.equal(cellStateOf(status, draining, failing), want, `${status} draining=${draining} failing=${failing}`);
});

const host = (name: string, rack: string, cluster = "c1", state: CellState = "up"): FleetHost => ({ id: `id-${name}`, name, region: "r1", datacenter: "dc1", cluster, rack, state, cpu: 0.5, memory: 0.25 });

void test("layoutFleet: groups by region/datacenter/cluster, a row per rack that wraps, the same for any order", () => {
  const opts = { width: 110 + 4 * 21, cell: 18, gap: 3, heading: 26, label: 110 };
  const hosts = [host("a1", "rack-a"), host("a2", "rack-a"), host("a3", "rack-a"), host("a4", "rack-a"), host("a5", "rack-a"), host("b1", "rack-b"), host("z1", "rack-a", "c2")];
  const layout = layoutFleet(hosts, opts);
  assert.deepEqual(
    layout.labels.map((l) => `${l.kind}:${l.text}@${l.y}`),
    ["group:r1 / dc1 / c1@0", "rack:rack-a@26", "rack:rack-b@68", "group:r1 / dc1 / c2@89", "rack:rack-a@115"],
  );
  const at = Object.fromEntries(layout.cells.map((c) => [c.host.name, [c.x, c.y]]));
  assert.deepEqual(at, { a1: [110, 26], a2: [131, 26], a3: [152, 26], a4: [173, 26], a5: [110, 47], b1: [110, 68], z1: [110, 115] });
  assert.equal(layout.height, 136);
  assert.deepEqual(layoutFleet([...hosts].reverse(), opts), layout, "the order hosts arrive in does not matter");
  assert.equal(cellAt(layout, 131 + 5, 26 + 5)?.host.name, "a2");
  assert.equal(cellAt(layout, 131 + 19, 26 + 5), null, "the gap between cells is no host");
  assert.equal(cellAt(layout, 5, 30), null, "a label is no host");
  assert.deepEqual(layoutFleet([], opts), { cells: [], labels: [], height: 0, size: 18 });
  assert.equal(layoutOptionsFor(3, 800).cell, 32, "a small fleet gets big cells");
  assert.equal(layoutOptionsFor(10_000, 800).cell, 18);
  assert.deepEqual(countStates([host("x", "r", "c", "down"), host("y", "r"), host("z", "r")]), { down: 1, suspect: 0, failing: 0, draining: 0, upgrading: 0, up: 2 });
});

void test("layoutFleet: 10,000 hosts lay out in well under a frame's budget", () => {
  const hosts = Array.from({ length: 10_000 }, (_, i) => host(`h${i}`, `rack-${i % 250}`, `c${i % 5}`));
  // CPU time, not wall time: on a shared, loaded machine the wall clock counts other processes' turns
  // (bench/dashboard.ts measures the page's real timings).
  const t0 = process.cpuUsage();
  const layout = layoutFleet(hosts, { width: 1400, cell: 18, gap: 3, heading: 26, label: 110 });
  const used = process.cpuUsage(t0);
  const ms = (used.user + used.system) / 1000;
  assert.equal(layout.cells.length, 10_000);
  assert.ok(ms < 200, `took ${ms.toFixed(1)} ms of CPU`);
});

const hostRec = (draining: boolean): Host => ({
  id: "h1", name: "dev-1", address: "127.0.0.1:1", cores: 4, memoryMiB: 4096, diskMiB: 10000, os: { id: "debian", version: "12" }, kernel: "6.1", labels: {}, runtime: "crun",
  domain: { region: "r", datacenter: "d", cluster: "c", rack: "rack-1" }, draining, registeredAt: 0,
});
const attempt = (over: Partial<Attempt>): Attempt => ({
  id: "a1b2c3d4e5", job: "web", index: 0, version: 2, hostId: "h1", desired: "run", createdAt: 0, startAfter: 0,
  state: "running", pid: 10, exitCode: null, signal: null, reason: null, ports: {}, startedAt: 1, endedAt: null, ...over,
});

void test("describe: one line per change worth reading, naming hosts by name", () => {
  const name = (id: string | null): string => (id === "h1" ? "dev-1" : id === "h2" ? "dev-2" : "?");
  const ev = (e: Omit<WatchEvent, "revision">): WatchEvent => ({ ...e, revision: 1 }) as WatchEvent;
  const cases: { name: string; ev: WatchEvent; prev: unknown; want: string | null }[] = [
    { name: "host drained", ev: ev({ type: "updated", kind: "host", name: "h1", object: hostRec(true) }), prev: hostRec(false), want: "host dev-1 draining" },
    { name: "host undrained", ev: ev({ type: "updated", kind: "host", name: "h1", object: hostRec(false) }), prev: hostRec(true), want: "host dev-1 undrained" },
    { name: "host unchanged", ev: ev({ type: "updated", kind: "host", name: "h1", object: hostRec(false) }), prev: hostRec(false), want: null },
    { name: "host down", ev: ev({ type: "removed", kind: "alive", name: "h1", object: null }), prev: { ttlMs: 1, upgradeUntil: null }, want: "host dev-1 down (no heartbeat)" },
    { name: "host up", ev: ev({ type: "added", kind: "alive", name: "h1", object: { ttlMs: 1, upgradeUntil: null } }), prev: null, want: "host dev-1 up" },
    { name: "lease renewed", ev: ev({ type: "updated", kind: "alive", name: "h1", object: { ttlMs: 1, upgradeUntil: null } }), prev: { ttlMs: 1, upgradeUntil: null }, want: null },
    {
      name: "task moved",
      ev: ev({ type: "updated", kind: "task", name: "web/0", object: { job: "web", index: 0, version: 2, hostId: "h2", attemptId: null, failures: 0, avoidHosts: [], unplacedReason: null } }),
      prev: { job: "web", index: 0, version: 2, hostId: "h1", attemptId: null, failures: 0, avoidHosts: [], unplacedReason: null },
      want: "web/0 placed on dev-2 (moved from dev-1)",
    },
    { name: "attempt killed", ev: ev({ type: "updated", kind: "attempt", name: "a1", object: attempt({ state: "exited", signal: "SIGKILL", endedAt: 2 }) }), prev: attempt({}), want: "web/0 exited on dev-1 (SIGKILL)" },
    // Another namespace's job: the watch names it by id (web.team-a); the feed writes team-a/web.
    { name: "attempt of team-a killed", ev: ev({ type: "updated", kind: "attempt", name: "a1", object: attempt({ job: "web.team-a", state: "exited", signal: "SIGKILL", endedAt: 2 }) }), prev: attempt({ job: "web.team-a" }), want: "team-a/web/0 exited on dev-1 (SIGKILL)" },
    { name: "task of team-a removed", ev: ev({ type: "removed", kind: "task", name: "web.team-a/0", object: null }), prev: null, want: "team-a/web/0 removed" },
    { name: "attempt same state", ev: ev({ type: "updated", kind: "attempt", name: "a1", object: attempt({ pid: 11 }) }), prev: attempt({}), want: null },
    // Tasks and attempts are followed without a list: an older one's first change comes with no previous object.
    { name: "attempt created", ev: ev({ type: "added", kind: "attempt", name: "a1", object: attempt({ state: "pending" }) }), prev: null, want: "web/0 attempt a1b2c3d4e5 created on dev-1 (v2)" },
    { name: "older attempt killed", ev: ev({ type: "updated", kind: "attempt", name: "a1", object: attempt({ state: "exited", signal: "SIGKILL", endedAt: 2 }) }), prev: null, want: "web/0 exited on dev-1 (SIGKILL)" },
    { name: "older attempt asked to stop", ev: ev({ type: "updated", kind: "attempt", name: "a1", object: attempt({ desired: "stop" }) }), prev: null, want: "web/0 asked to stop on dev-1" },
    { name: "older attempt running", ev: ev({ type: "updated", kind: "attempt", name: "a1", object: attempt({ pid: 12 }) }), prev: null, want: null },
    {
      name: "older task changed: its placement is not news",
      ev: ev({ type: "updated", kind: "task", name: "web/0", object: { job: "web", index: 0, version: 3, hostId: "h2", attemptId: null, failures: 0, avoidHosts: [], unplacedReason: null } }),
      prev: null,
      want: null,
    },
  ];
  for (const c of cases) assert.equal(describe(c.ev, c.prev, name, 0)?.text ?? null, c.want, c.name);
  assert.equal(endOf({ exitCode: 137, signal: null, reason: "out of memory" }), " (exit 137, out of memory)");
});

void test("appendChunk: chunks become lines, a partial line waits for its newline, only the last lines are kept", () => {
  const cases: { name: string; lines: string[]; partial: string; chunk: string; max: number; want: { lines: string[]; partial: string } }[] = [
    { name: "whole lines", lines: [], partial: "", chunk: "a\nb\n", max: 10, want: { lines: ["a", "b"], partial: "" } },
    { name: "a partial line", lines: ["a"], partial: "", chunk: "b", max: 10, want: { lines: ["a"], partial: "b" } },
    { name: "the partial line completed", lines: ["a"], partial: "b", chunk: "c\nd", max: 10, want: { lines: ["a", "bc"], partial: "d" } },
    { name: "over the limit", lines: ["1", "2", "3"], partial: "", chunk: "4\n5\n", max: 3, want: { lines: ["3", "4", "5"], partial: "" } },
    { name: "an empty line kept", lines: [], partial: "", chunk: "\n", max: 3, want: { lines: [""], partial: "" } },
  ];
  for (const c of cases) assert.deepEqual(appendChunk(c.lines, c.partial, c.chunk, c.max), c.want, c.name);
});

void test("rolloutCommands: the buttons a rollout's state offers, as `tiffin rollout` accepts them", () => {
  assert.deepEqual(rolloutCommands("running", false), ["pause", "promote", "abort"]);
  assert.deepEqual(rolloutCommands("running", true), ["pause", "abort"], "promote asked already");
  assert.deepEqual(rolloutCommands("paused", false), ["resume", "abort"]);
  for (const ended of ["succeeded", "failed", "superseded", null]) assert.deepEqual(rolloutCommands(ended, false), [], String(ended));
});

void test("actions show only for a token whose policy has their capability", () => {
  const who = (policy: { on: string; caps: ("read" | "drain" | "admin")[] }[]) => ({ kind: "token" as const, id: "0123456789ab", name: "t", policy, expiresAt: null });
  const cases: { name: string; who: Parameters<typeof canDo>[0]; want: boolean }[] = [
    { name: "whoami not answered yet", who: null, want: false },
    { name: "the admin token", who: { ...who([{ on: "*", caps: ["admin"] }]), kind: "admin" }, want: true },
    { name: "drain on hosts", who: who([{ on: "hosts", caps: ["drain"] }]), want: true },
    { name: "read on hosts only", who: who([{ on: "hosts", caps: ["read"] }]), want: false },
    { name: "admin of a namespace", who: who([{ on: "ns/*", caps: ["admin"] }]), want: false },
  ];
  for (const c of cases) assert.equal(canDo(c.who, "drain"), c.want, c.name);
});

void test("canDo: a job's actions need write on the job's own namespace", () => {
  const who = (policy: { on: string; caps: "write"[] }[]) => ({ kind: "token" as const, id: "0123456789ab", name: "t", policy, expiresAt: null });
  const teamA = who([{ on: "ns/team-a", caps: ["write"] }]);
  const cases: [string, Parameters<typeof canDo>[0], string, boolean][] = [
    ["write on team-a, a job of team-a", teamA, "team-a", true],
    ["write on team-a, a job of default", teamA, "default", false],
    ["write on team-a, a job of team-b", teamA, "team-b", false],
    ["write on every namespace", who([{ on: "ns/*", caps: ["write"] }]), "team-b", true],
  ];
  for (const [name, w, ns, want] of cases) assert.equal(canDo(w, "restart", ns), want, name);
});

void test("chartShape: a series scaled into its box, gaps lift the pen, the limit is a level line", () => {
  // Three minutes at 0.5, 1, 2 cores against a 2-core limit: top is 2.2 (a tenth above the higher).
  const s = chartShape([{ at: 0, value: 0.5 }, { at: 60_000, value: 1 }, { at: 120_000, value: 2 }], 2, 100, 22);
  assert.equal(s.top, 2.2);
  assert.equal(s.path, "M0 17 L50 12 L100 2");
  assert.equal(s.limitY, 2);
  assert.equal(s.last, 2);
  assert.deepEqual(s.dot, { x: 100, y: 2 });
  // A gap (not sampled) starts a new stroke; no limit, no line; all zero scales to 1, not NaN.
  assert.equal(chartShape([{ at: 0, value: 1 }, { at: 1, value: null }, { at: 2, value: 1 }], null, 10, 10).path, "M0 0.9 M10 0.9");
  assert.equal(chartShape([{ at: 0, value: 1 }], null, 10, 10).limitY, null);
  assert.deepEqual(chartShape([{ at: 5, value: 0 }], 0, 10, 10), { path: "M10 10", limitY: null, top: 1, last: 0, dot: { x: 10, y: 10 } });
  assert.deepEqual(chartShape([], 1, 10, 10), { path: "", limitY: 0.9, top: 1.1, last: null, dot: null });
});

void test("bytes: the largest unit that keeps a figure of at least 1", () => {
  assert.deepEqual([0, 512, 1024, 3277, 14 * 1048576, 5 * 1073741824].map(bytes), ["0 B", "512 B", "1.0 KiB", "3.2 KiB", "14.0 MiB", "5.0 GiB"]);
});

void test("UnplacedFrom: a task unplaced from a down host, then placed elsewhere, reads as moved from it in the feed", () => {
  const moves = new UnplacedFrom();
  const name = (id: string | null): string => (id === "h1" ? "dev-1" : id === "h2" ? "dev-2" : "?");
  const task = (hostId: string | null, unplacedReason: string | null = null): Task => ({ job: "web", index: 0, version: 2, hostId, attemptId: null, failures: 0, avoidHosts: [], unplacedReason });
  const seen = new Map<string, Task>();
  // As Live.apply does: the previous object through the memory, then the feed's line.
  const send = (taskName: string, t: Task, type: "added" | "updated" = "updated"): string | null => {
    const was = moves.before(taskName, seen.get(taskName) ?? null, t);
    seen.set(taskName, t);
    return describe({ type, kind: "task", name: taskName, object: t, revision: 1 }, was, name, 0)?.text ?? null;
  };
  send("web/0", task("h1"));
  // The reconciler unplaces the task once nothing of it is left on the down host, then places it.
  assert.equal(send("web/0", task(null)), null);
  assert.equal(send("web/0", task("h2")), "web/0 placed on dev-2 (moved from dev-1)");
  // Waiting unplaced for a while (with a reason), then placed: still moved from where it was.
  send("web/0", task(null));
  assert.equal(send("web/0", task(null, "no host fits")), "web/0 unplaced: no host fits");
  assert.equal(send("web/0", task("h1")), "web/0 placed on dev-1 (moved from dev-2)");
  // A task placed for the first time is no move; a removed one is forgotten.
  send("web/1", task(null), "added");
  assert.equal(send("web/1", task("h1")), "web/1 placed on dev-1");
  send("web/1", task(null));
  moves.before("web/1", task(null), null);
  assert.equal(moves.before("web/1", task(null), task(null))?.hostId, null, "removed: its host forgotten");
});

void test("hostsReadEveryMs: small fleets are read inside the suspect window (2 s), big ones every 5 s", () => {
  const cases: [number, number][] = [[3, 1500], [1000, 1500], [1001, 5000], [10_000, 5000]];
  for (const [hosts, ms] of cases) assert.equal(hostsReadEveryMs(hosts), ms, `${hosts} hosts`);
});

void test("fetchBar and fetchLine: shares of the package from peers, the origin, held before, on the way", () => {
  const f = (over: Partial<SwarmFetcher>): SwarmFetcher => ({ host: "h1", held: 0, complete: false, startedAt: 1000, finishedAt: null, fromPeers: 0, fromOrigin: 0, inflightPeers: 0, inflightOrigin: 0, ...over });
  const cases: { name: string; f: SwarmFetcher; total: number; bar: FetchBar; line: string }[] = [
    { name: "just started", f: f({ inflightOrigin: 3 }), total: 10, bar: { peers: 0, origin: 0, other: 0, inflight: 0.3 }, line: "0/10 pieces (0%); 3 on their way (3 from the origin); fetching for 1.5 s" },
    {
      name: "halfway, both sources",
      f: f({ held: 5, fromPeers: 3, fromOrigin: 2, inflightPeers: 2, inflightOrigin: 1 }),
      total: 10,
      bar: { peers: 0.3, origin: 0.2, other: 0, inflight: 0.3 },
      line: "5/10 pieces (50%): 3 from peers, 2 from the origin; 3 on their way (2 from peers, 1 from the origin); fetching for 1.5 s",
    },
    { name: "resumed: pieces held before", f: f({ held: 4, fromPeers: 1 }), total: 8, bar: { peers: 0.125, origin: 0, other: 0.375, inflight: 0 }, line: "4/8 pieces (50%): 1 from peers; fetching for 1.5 s" },
    { name: "done", f: f({ held: 4, complete: true, finishedAt: 3200, fromPeers: 4, inflightPeers: 1 }), total: 4, bar: { peers: 1, origin: 0, other: 0, inflight: 0 }, line: "4/4 pieces (100%): 4 from peers; done in 2.2 s" },
    { name: "no total yet", f: f({}), total: 0, bar: { peers: 0, origin: 0, other: 0, inflight: 0 }, line: "0/0 pieces (0%); fetching for 1.5 s" },
  ];
  for (const c of cases) {
    assert.deepEqual(fetchBar(c.f, c.total), c.bar, c.name);
    assert.equal(fetchLine(c.f, c.total, 2500), c.line, c.name);
  }
});
