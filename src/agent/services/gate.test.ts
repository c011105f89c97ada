import assert from "node:assert/strict";
import { test } from "node:test";
import { serviceVar, startHold } from "./gate.ts";

void test("startHold: a start waits until every used service has its minimum (table)", () => {
  const counts: Record<string, number | null> = { cache: 2, db: 0, queue: null };
  const serving = (s: string): number | null => counts[s] ?? null;
  const cases: { name: string; uses: { service: string; min: number }[]; want: string | null }[] = [
    { name: "no uses", uses: [], want: null },
    { name: "enough", uses: [{ service: "cache", min: 2 }], want: null },
    { name: "too few", uses: [{ service: "cache", min: 3 }], want: "waiting for service cache (2 of 3 endpoints serving)" },
    { name: "none serving", uses: [{ service: "db", min: 1 }], want: "waiting for service db (0 of 1 endpoint serving)" },
    { name: "not listed yet", uses: [{ service: "queue", min: 1 }], want: "waiting for service queue (endpoints not known yet)" },
    { name: "min 0 never waits, even unlisted", uses: [{ service: "queue", min: 0 }, { service: "db", min: 0 }], want: null },
    { name: "several", uses: [{ service: "cache", min: 1 }, { service: "db", min: 1 }, { service: "queue", min: 1 }], want: "waiting for services db (0 of 1 endpoint serving), queue (endpoints not known yet)" },
  ];
  for (const c of cases) assert.equal(startHold(c.uses, serving), c.want, c.name);
  assert.equal(serviceVar("redis-main"), "TIFFIN_SERVICE_REDIS_MAIN");
});
