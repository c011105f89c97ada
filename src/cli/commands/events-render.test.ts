// One line per watch event, by table: what `tiffin events` prints for each kind and change. A removal
// carries the last object stored, so the line says what was removed, never that a host is "up" as it
// goes down.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { WatchEvent } from "../../api/watch-types.ts";
import { renderEvent } from "./events.ts";

const alive = { ttlMs: 10_000, upgradeUntil: null };
const cases: { name: string; event: WatchEvent; want: string }[] = [
  { name: "a host comes up", event: { type: "added", kind: "alive", name: "h1", revision: 7, object: alive }, want: "7       alive    added    h1  up" },
  { name: "a host goes down (its last liveness record is no news)", event: { type: "removed", kind: "alive", name: "h1", revision: 9, object: alive }, want: "9       alive    down     h1" },
  { name: "a job is updated", event: { type: "updated", kind: "job", name: "web", revision: 3, object: { name: "web", version: 2, removedAt: null, updatedAt: 1 } }, want: "3       job      updated  web  version 2" },
  { name: "a removal the server could not describe", event: { type: "removed", kind: "task", name: "web/0", revision: 4, object: null }, want: "4       task     removed  web/0" },
];
for (const c of cases) void test(`renderEvent: ${c.name}`, () => assert.equal(renderEvent(c.event), `${c.want}\n`));
