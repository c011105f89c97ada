// Table tests of every-host slots: one task per matching host, indexes stable per host.
import assert from "node:assert/strict";
import { test } from "node:test";
import { everyHostSlots } from "./every-host.ts";
import type { EveryHostHost } from "./every-host.ts";

const up = (id: string, over: Partial<EveryHostHost> = {}): EveryHostHost => ({ id, matches: true, down: false, draining: false, ...over });
/** "index:host" per slot, "!" when it does not run, "?" when it has a reason but runs. */
const show = (hosts: EveryHostHost[], homes: [number, string][] = []): string[] =>
  everyHostSlots(hosts, new Map(homes)).map((s) => `${s.index}:${s.hostId}${s.run ? (s.reason === null ? "" : "?") : "!"}`);

void test("every-host slots (table)", () => {
  const cases: { name: string; hosts: EveryHostHost[]; homes?: [number, string][]; want: string[] }[] = [
    { name: "no hosts, no tasks", hosts: [], want: [] },
    { name: "one task per matching host, in id order", hosts: [up("b"), up("a")], want: ["0:a", "1:b"] },
    { name: "a host that does not match gets none", hosts: [up("a"), up("b", { matches: false }), up("c")], want: ["0:a", "1:c"] },
    { name: "existing indexes stay with their hosts", hosts: [up("a"), up("b")], homes: [[0, "b"], [1, "a"]], want: ["0:b", "1:a"] },
    { name: "a late host gets the lowest free index; others keep theirs", hosts: [up("a"), up("b"), up("c")], homes: [[0, "c"], [2, "a"]], want: ["0:c", "1:b", "2:a"] },
    { name: "a draining host keeps its index, the task stops, nothing moves", hosts: [up("a"), up("b", { draining: true })], homes: [[0, "a"], [1, "b"]], want: ["0:a", "1:b!"] },
    { name: "a new draining host gets no task", hosts: [up("a"), up("b", { draining: true })], want: ["0:a"] },
    { name: "a down host keeps its task (not moved elsewhere)", hosts: [up("a"), up("b", { down: true })], homes: [[0, "a"], [1, "b"]], want: ["0:a", "1:b?"] },
    { name: "a new down host gets no task", hosts: [up("a", { down: true })], want: [] },
    { name: "a removed host's task is gone and its index free", hosts: [up("a"), up("c")], homes: [[0, "b"], [1, "a"]], want: ["0:c", "1:a"] },
    { name: "a host that stops matching loses its task", hosts: [up("a", { matches: false }), up("b")], homes: [[0, "a"], [1, "b"]], want: ["1:b"] },
    { name: "two indexes on one host: the lower keeps it", hosts: [up("a")], homes: [[3, "a"], [1, "a"]], want: ["1:a"] },
  ];
  for (const c of cases) assert.deepEqual(show(c.hosts, c.homes), c.want, c.name);
});

void test("the decision is the same whatever the host order (every server decides alike)", () => {
  const hosts = [up("h3"), up("h1"), up("h2", { matches: false }), up("h0")];
  const homes = new Map([[1, "h3"]]);
  const a = everyHostSlots(hosts, homes);
  const b = everyHostSlots([...hosts].reverse(), homes);
  assert.deepEqual(a, b);
  assert.deepEqual(a.map((s) => `${s.index}:${s.hostId}`), ["0:h0", "1:h3", "2:h1"]);
});
