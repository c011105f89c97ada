import { test } from "node:test";
import assert from "node:assert/strict";
import type { Endpoint } from "../../model/index.ts";
import { renderEndpointChange, renderEndpoints } from "./endpoints.ts";
import { renderServices } from "./services.ts";

const ep: Endpoint = {
  service: "web", job: "web", index: 1, version: 4, attemptId: "a1", hostId: "h1", host: "alpha", address: "10.0.0.7",
  ports: [{ name: "http", port: 20001 }, { name: "admin", port: 20002 }], state: "healthy", labels: {}, since: 0,
};

void test("renderServices: a row per service; wide adds the DNS name; none says how to offer one", () => {
  const list = [{ name: "web", endpoints: 3, ports: ["http", "admin"] }];
  assert.match(renderServices(list), /^web\s+3\s+http,admin\s*$/m);
  assert.match(renderServices(list, true), /web\.service\.tiffin/);
  assert.match(renderServices([]), /naming `ports`/);
  const named = [{ name: "api", endpoints: 2, ports: ["http"], job: "app" }, { name: "web", endpoints: 1, ports: ["http"] }];
  assert.match(renderServices(named), /^SERVICE\s+ENDPOINTS\s+PORTS\s+JOB\s*$/m);
  assert.match(renderServices(named), /^api\s+2\s+http\s+app\s*$/m);
  assert.match(renderServices(named), /^web\s+1\s+http\s+web\s*$/m);
});

void test("renderEndpoints and renderEndpointChange", () => {
  assert.match(renderEndpoints("web", [ep]), /^web\/1\s+10\.0\.0\.7\s+http=20001,admin=20002\s+alpha\s+4\s+healthy/m);
  assert.equal(renderEndpoints("web", []), "service web has no serving endpoints\n");
  const cases: [Parameters<typeof renderEndpointChange>, RegExp][] = [
    [["added", "web/1", ep, 7], /^\+ web\/1 {2}10\.0\.0\.7 {2}http=20001,admin=20002 {2}alpha {2}v4 {2}healthy {2}\(revision 7\)$/],
    [["updated", "web/1", ep, 8], /^~ web\/1 /],
    [["removed", "web/1", null, 9], /^- web\/1 {2}\(revision 9\)$/],
  ];
  for (const [args, want] of cases) assert.match(renderEndpointChange(...args).trimEnd(), want, args[0]);
});
