// CA rotation's decisions, as tables: the roles of a set's CAs, when a rotation may start, when it
// may finish, the hosts per CA (the agent's "renew now?" is src/agent/ca-renew.test.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { finishCheck, hostsByCa, hostsNotMoved, rolesOf, rotateCheck } from "./rotation.ts";
import type { CaSet, HostCa } from "./rotation.ts";

const A = { certPem: "A-cert", keyPem: "A-key" };
const B = { certPem: "B-cert", keyPem: "B-key" };
const stable: CaSet = { current: A, previous: null };
const rotating: CaSet = { current: B, previous: A };

void test("rolesOf: stable serves and signs with its one CA; rotating signs hosts with the new, serves with the old, trusts both", () => {
  assert.deepEqual(rolesOf(stable), { signsHosts: A, serves: A, trust: ["A-cert"] });
  assert.deepEqual(rolesOf(rotating), { signsHosts: B, serves: A, trust: ["A-cert", "B-cert"] });
});

void test("rotateCheck: refused mid-rotation, for the same CA, and for a CA of the same subject", () => {
  const cases: [string, CaSet, string, string, RegExp | null][] = [
    ["a new CA", stable, "hb", "CN=new", null],
    ["mid-rotation", rotating, "hc", "CN=new", /already in progress/],
    ["the same CA", stable, "ha", "CN=new", /is the current one/],
    ["the same subject", stable, "hb", "CN=old", /subject/],
  ];
  for (const [name, set, next, subject, want] of cases) {
    const r = rotateCheck(set, { current: "ha", next }, { current: "CN=old", next: subject });
    if (want === null) assert.equal(r, null, name);
    else assert.match(r?.refused ?? "", want, name);
  }
});

const host = (name: string, live: boolean, caHash: string | null): HostCa => ({ id: `id-${name}`, name, live, caHash });

void test("finishCheck: waits for every live host on the new CA, names them, --force passes; down hosts do not count", () => {
  const moved = [host("a", true, "hb"), host("b", true, "hb")];
  const oneOld = [host("c", true, "ha"), ...moved, host("d", true, null)];
  const downOld = [...moved, host("e", false, "ha")];
  const cases: [string, CaSet, HostCa[], boolean, RegExp | null][] = [
    ["all moved", rotating, moved, false, null],
    ["an old and an unknown live host", rotating, oneOld, false, /2 live host\(s\) .*: c, d$/],
    ["forced", rotating, oneOld, true, null],
    ["a down host on the old CA", rotating, downOld, false, null],
    ["nothing to finish", stable, moved, false, /no CA rotation/],
    ["nothing to finish, forced", stable, moved, true, /no CA rotation/],
  ];
  for (const [name, set, hosts, force, want] of cases) {
    const r = finishCheck(set, hosts, "hb", force);
    if (want === null) assert.equal(r, null, name);
    else assert.match(r?.refused ?? "", want, name);
  }
  assert.deepEqual(hostsNotMoved(oneOld, "hb").map((h) => h.name), ["c", "d"]);
  assert.deepEqual(hostsByCa(oneOld), { byHash: { ha: 1, hb: 2 }, unknown: 1 });
});
