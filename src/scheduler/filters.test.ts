import { test } from "node:test";
import assert from "node:assert/strict";
import type { PlanContext } from "./context.ts";
import { antiAffinityFilter, avoidFilter, capabilitiesFilter, cpuFilter, diskFilter, DYNAMIC_FILTERS, kernelFilter, labelsFilter, memoryFilter, osFilter, sandboxFilter, schedulableFilter, STATIC_FILTERS, unsandboxedFilter } from "./filters.ts";
import type { FilterPlugin } from "./filters.ts";
import { evaluate } from "./pipeline.ts";
import { PoolRegistry } from "./pools.ts";
import { closePlan, openPlan, setAvoid } from "./session.ts";
import { ClusterState } from "./state.ts";
import { makeHost, makeSpec } from "./testing.ts";
import type { HostParts, SpecParts } from "./testing.ts";
import type { RejectReason, SchedTask } from "./types.ts";

/** Runs `fn` with a plan context over one host "h" (plus other hosts and tasks), then closes the plan. */
function withHost<T>(host: HostParts, spec: SpecParts, fn: (ctx: PlanContext, slot: number) => T, tasks: SchedTask[] = [], extra: HostParts[] = [], avoidH = false): T {
  const st = new ClusterState();
  st.upsert(makeHost("h", host));
  extra.forEach((p, i) => st.upsert(makeHost(`x${i}`, p)));
  for (const t of tasks) st.assign({ ...t, slot: st.slotOf.get(t.hostId)! });
  const s = openPlan(st, new PoolRegistry(), { spec: makeSpec("job", spec), indexes: [0] });
  try {
    setAvoid(s, avoidH ? ["h"] : undefined);
    return fn(s.ctx, st.slotOf.get("h")!);
  } finally {
    closePlan(s);
  }
}
const task = (p: Partial<SchedTask>): SchedTask => ({ job: "other", index: 0, hostId: "h", cpu: 0, memoryMiB: 0, diskMiB: 0, antiAffinity: null, ...p });

interface Case {
  name: string;
  filter: FilterPlugin;
  host?: HostParts;
  spec?: SpecParts;
  tasks?: SchedTask[];
  extra?: HostParts[];
  /** The task avoids host "h". */
  avoid?: boolean;
  want: RejectReason | null;
}

const cases: Case[] = [
  { name: "schedulable host passes", filter: schedulableFilter, want: null },
  { name: "draining host rejected", filter: schedulableFilter, host: { schedulable: false }, want: "not-schedulable" },
  { name: "no os constraint", filter: osFilter, host: { os: { id: "ubuntu", version: "24.04" } }, want: null },
  { name: "os id matches", filter: osFilter, spec: { os: { id: "debian", version: null } }, want: null },
  { name: "os id differs", filter: osFilter, spec: { os: { id: "ubuntu", version: null } }, want: "os" },
  { name: "os major accepts point release", filter: osFilter, host: { os: { id: "debian", version: "12.5" } }, spec: { os: { id: "debian", version: "12" } }, want: null },
  { name: "os version differs", filter: osFilter, host: { os: { id: "debian", version: "11" } }, spec: { os: { id: "debian", version: "12" } }, want: "os" },
  { name: "os version is not a string prefix", filter: osFilter, host: { os: { id: "debian", version: "120" } }, spec: { os: { id: "debian", version: "12" } }, want: "os" },
  { name: "kernel in range", filter: kernelFilter, host: { kernel: "6.1.0-18-amd64" }, spec: { kernel: ">=6.1" }, want: null },
  { name: "kernel numeric not lexical", filter: kernelFilter, host: { kernel: "5.9.0" }, spec: { kernel: ">=5.10 <7" }, want: "kernel" },
  { name: "kernel above range", filter: kernelFilter, host: { kernel: "7.1" }, spec: { kernel: ">=5.10 <7" }, want: "kernel" },
  { name: "unparseable host kernel", filter: kernelFilter, host: { kernel: "unknown" }, spec: { kernel: ">=5" }, want: "kernel" },
  { name: "invalid range rejects all", filter: kernelFilter, spec: { kernel: "~6" }, want: "kernel" },
  { name: "labels match", filter: labelsFilter, host: { labels: { disk: "ssd", gpu: "a100" } }, spec: { labels: { disk: "ssd" } }, want: null },
  { name: "label value differs", filter: labelsFilter, host: { labels: { disk: "hdd" } }, spec: { labels: { disk: "ssd" } }, want: "labels" },
  { name: "label missing", filter: labelsFilter, spec: { labels: { disk: "ssd" } }, want: "labels" },
  { name: "sandboxed job on a host with a runtime", filter: sandboxFilter, host: { sandbox: true }, want: null },
  { name: "sandboxed job on a host without a runtime", filter: sandboxFilter, host: { sandbox: false }, want: "no-sandbox" },
  { name: "unsandboxed job on a host without a runtime", filter: sandboxFilter, host: { sandbox: false }, spec: { isolation: "none" }, want: null },
  { name: "unsandboxed job on a host whose agent allows it", filter: unsandboxedFilter, host: { unsandboxed: true }, spec: { isolation: "none" }, want: null },
  { name: "unsandboxed job on a host whose agent refuses it", filter: unsandboxedFilter, host: { unsandboxed: false }, spec: { isolation: "none" }, want: "unsandboxed-refused" },
  { name: "sandboxed job on a host whose agent refuses unsandboxed tasks", filter: unsandboxedFilter, host: { unsandboxed: false }, want: null },
  { name: "no capabilities asked", filter: capabilitiesFilter, want: null },
  { name: "capability allowed by the host", filter: capabilitiesFilter, host: { capabilities: ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"] }, spec: { capabilities: ["CAP_NET_BIND_SERVICE"] }, want: null },
  { name: "capability the host does not allow", filter: capabilitiesFilter, host: { capabilities: ["CAP_CHOWN"] }, spec: { capabilities: ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"] }, want: "capabilities" },
  { name: "capability on a host that allows none (an older agent)", filter: capabilitiesFilter, spec: { capabilities: ["CAP_CHOWN"] }, want: "capabilities" },
  { name: "not avoided", filter: avoidFilter, want: null },
  { name: "avoided", filter: avoidFilter, avoid: true, want: "avoided" },
  { name: "no tag", filter: antiAffinityFilter, tasks: [task({ antiAffinity: "net" })], want: null },
  { name: "tag free in rack", filter: antiAffinityFilter, spec: { antiAffinity: "net" }, tasks: [task({ antiAffinity: "disk" })], want: null },
  { name: "tag taken on this host", filter: antiAffinityFilter, spec: { antiAffinity: "net" }, tasks: [task({ antiAffinity: "net" })], want: "anti-affinity" },
  {
    name: "tag taken on another host of the rack, by another job",
    filter: antiAffinityFilter,
    spec: { antiAffinity: "net" },
    extra: [{ rack: "r1" }],
    tasks: [task({ hostId: "x0", antiAffinity: "net" })],
    want: "anti-affinity",
  },
  {
    name: "same rack name in another cluster is another rack",
    filter: antiAffinityFilter,
    spec: { antiAffinity: "net" },
    extra: [{ rack: "r1", cluster: "c2" }],
    tasks: [task({ hostId: "x0", antiAffinity: "net" })],
    want: null,
  },
  { name: "cpu fits exactly", filter: cpuFilter, host: { cores: 4 }, spec: { cpu: 1 }, tasks: [task({ cpu: 3 })], want: null },
  { name: "cpu fractional sums", filter: cpuFilter, host: { cores: 0.3 }, spec: { cpu: 0.2 }, tasks: [task({ cpu: 0.1 })], want: null },
  { name: "cpu over", filter: cpuFilter, host: { cores: 4 }, spec: { cpu: 1.5 }, tasks: [task({ cpu: 3 })], want: "cpu" },
  { name: "memory fits", filter: memoryFilter, host: { memoryMiB: 1024 }, spec: { memoryMiB: 512 }, tasks: [task({ memoryMiB: 512 })], want: null },
  { name: "memory over", filter: memoryFilter, host: { memoryMiB: 1024 }, spec: { memoryMiB: 513 }, tasks: [task({ memoryMiB: 512 })], want: "memory" },
  { name: "disk fits", filter: diskFilter, host: { diskMiB: 100 }, spec: { diskMiB: 100 }, want: null },
  { name: "disk over", filter: diskFilter, host: { diskMiB: 100 }, spec: { diskMiB: 60 }, tasks: [task({ diskMiB: 50 })], want: "disk" },
];

for (const c of cases) {
  void test(`filter ${c.filter.name}: ${c.name}`, () => {
    const got = withHost(c.host ?? {}, c.spec ?? {}, (ctx, slot) => c.filter.filter(ctx, slot), c.tasks ?? [], c.extra ?? [], c.avoid ?? false);
    assert.equal(got, c.want);
  });
}

void test("the pipeline reports the first failing filter in order", () => {
  const host: HostParts = { schedulable: false, os: { id: "ubuntu", version: "24.04" }, cores: 1 };
  assert.equal(withHost(host, { os: { id: "debian", version: null }, cpu: 4 }, evaluate), "not-schedulable");
  assert.equal(withHost({ ...host, schedulable: true }, { os: { id: "debian", version: null }, cpu: 4 }, evaluate), "os");
  assert.equal(withHost({ cores: 1, memoryMiB: 100 }, { cpu: 4, memoryMiB: 200 }, evaluate), "cpu");
  assert.equal(withHost({}, {}, evaluate), null);
  assert.deepEqual(
    [...STATIC_FILTERS, ...DYNAMIC_FILTERS].map((f) => f.name),
    ["schedulable", "os", "kernel", "labels", "sandbox", "capabilities", "unsandboxed", "avoid", "anti-affinity", "cpu", "memory", "disk"],
  );
});

void test("static verdicts are cached per pool and refreshed when the host changes", () => {
  const st = new ClusterState();
  st.upsert(makeHost("h", { labels: { disk: "ssd" } }));
  const pools = new PoolRegistry();
  const req = { spec: makeSpec("a", { labels: { disk: "ssd" } }), indexes: [0] };
  const s1 = openPlan(st, pools, req);
  assert.equal(evaluate(s1.ctx, 0), null);
  closePlan(s1);
  st.upsert(makeHost("h", { labels: { disk: "hdd" } }));
  const s2 = openPlan(st, pools, { ...req, spec: makeSpec("b", { labels: { disk: "ssd" } }) });
  assert.equal(s2.ctx.pool, s1.ctx.pool, "same constraints share a pool");
  assert.equal(evaluate(s2.ctx, 0), "labels");
  closePlan(s2);
});

void test("a host's verdict is refreshed when its runtime or allowed capabilities change (an agent restarted with other flags)", () => {
  const st = new ClusterState();
  st.upsert(makeHost("h", { capabilities: [] }));
  const pools = new PoolRegistry();
  const req = { spec: makeSpec("a", { capabilities: ["CAP_NET_BIND_SERVICE"] }), indexes: [0] };
  const verdict = (): RejectReason | null => {
    const s = openPlan(st, pools, req);
    try {
      return evaluate(s.ctx, 0);
    } finally {
      closePlan(s);
    }
  };
  assert.equal(verdict(), "capabilities");
  st.upsert(makeHost("h", { capabilities: ["CAP_NET_BIND_SERVICE"] }));
  assert.equal(verdict(), null);
  st.upsert(makeHost("h", { capabilities: ["CAP_NET_BIND_SERVICE"], sandbox: false }));
  assert.equal(verdict(), "no-sandbox");
  const none = { spec: makeSpec("n", { isolation: "none" }), indexes: [0] };
  const noneVerdict = (): RejectReason | null => {
    const s = openPlan(st, pools, none);
    try {
      return evaluate(s.ctx, 0);
    } finally {
      closePlan(s);
    }
  };
  st.upsert(makeHost("h", { unsandboxed: false }));
  assert.equal(noneVerdict(), "unsandboxed-refused");
  st.upsert(makeHost("h", { unsandboxed: true }));
  assert.equal(noneVerdict(), null);
});
