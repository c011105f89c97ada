// The decision of who may call a route, by table (pure); the real routes are enumerated against a
// running server in ../acl.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FullAdmin } from "../../model/index.ts";
import type { Policy } from "../../model/index.ts";
import type { Principal } from "./principal.ts";
import { decide, fallbackRule, ruleOf, RouteRules } from "./route-rules.ts";
import type { RouteRule } from "./route-rules.ts";

const principal = (kind: Principal["kind"], policy: Policy = []): Principal => ({ kind, actor: { id: `${kind}-id`, name: `${kind}-name` }, policy, hostId: kind === "host" ? "h1" : null, expiresAt: null });
const admin = principal("admin", FullAdmin);
const reader = principal("token", [{ on: "ns/default", caps: ["read"] }]);
const other = principal("token", [{ on: "ns/other", caps: ["admin"] }]);
const host = principal("host");
const join = principal("join");

const readJobs: RouteRule = { who: "user", needs: [{ cap: "read", on: "ns/default" }], audit: "none" };
const watch: RouteRule = { who: "user", needs: [{ cap: "read", on: "ns/default" }, { cap: "read", on: "hosts" }], audit: "none" };
const whoami: RouteRule = { who: "user", needs: [], audit: "none" };

const cases: { name: string; rule: RouteRule; p: Principal; want: RegExp | null }[] = [
  { name: "admin reads jobs", rule: readJobs, p: admin, want: null },
  { name: "a reader reads jobs", rule: readJobs, p: reader, want: null },
  { name: "another namespace's admin may not read default's jobs", rule: readJobs, p: other, want: /^GET \/x needs read on ns\/default; token token-id \("token-name"\) lacks it$/ },
  { name: "the watch names the second need a reader lacks", rule: watch, p: reader, want: /needs read on hosts/ },
  { name: "a host token is not a user token, even where nothing is needed", rule: whoami, p: host, want: /needs a user token; the host token is for agents/ },
  { name: "the join token is not a user token", rule: readJobs, p: join, want: /needs a user token/ },
  { name: "whoami: any user token", rule: whoami, p: other, want: null },
  { name: "host routes: a host token", rule: { who: "host" }, p: host, want: null },
  { name: "host routes: not the admin token", rule: { who: "host" }, p: admin, want: /needs a host token; the admin token is not an agent's/ },
  { name: "register: the join token", rule: { who: "join", audit: "call" }, p: join, want: null },
  { name: "register: not a host token", rule: { who: "join", audit: "call" }, p: host, want: /needs the join token/ },
  { name: "probes: anyone", rule: { who: "none" }, p: host, want: null },
];

for (const c of cases) {
  void test(`decide: ${c.name}`, () => {
    const got = decide(c.rule, c.p, "GET /x");
    if (c.want === null) assert.equal(got, null);
    else {
      assert.equal(got?.code, "TIFFIN_FORBIDDEN");
      assert.match(got.message, c.want);
    }
  });
}

void test("a route without a rule needs full admin (and the route test fails on it); host, join and probe routes keep their kind", () => {
  assert.equal(RouteRules["GET /v1/new-thing"], undefined);
  assert.deepEqual(ruleOf("GET", "/v1/new-thing", false, "admin"), { who: "user", needs: [{ cap: "admin", on: "*" }], audit: "call" });
  assert.deepEqual(decide(ruleOf("GET", "/v1/new-thing", false, "admin"), reader, "GET /v1/new-thing")?.message, 'GET /v1/new-thing needs admin on *; token token-id ("token-name") lacks it');
  assert.equal(decide(ruleOf("GET", "/v1/new-thing", false, "admin"), admin, "GET /v1/new-thing"), null);
  assert.deepEqual(fallbackRule("host"), { who: "host" });
  assert.deepEqual(fallbackRule("none"), { who: "none" });
  // An upgrade's rule is its own: the plain POST's does not stand in for it.
  assert.notEqual(RouteRules["UPGRADE POST /v1/tasks/:job/:index/exec"], undefined);
});
