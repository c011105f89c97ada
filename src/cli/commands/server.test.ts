import { test } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { parseStoreFlag } from "./server.ts";

void test("parseStoreFlag: default, sqlite:PATH, etcd endpoints and prefix", () => {
  const cases: [string | undefined, ReturnType<typeof parseStoreFlag>][] = [
    [undefined, null],
    ["sqlite:/var/lib/tiffin/state.db", { kind: "sqlite", path: "/var/lib/tiffin/state.db" }],
    ["sqlite:rel/state.db", { kind: "sqlite", path: resolve("rel/state.db") }],
    ["etcd://10.0.0.1:2379", { kind: "etcd", endpoints: ["http://10.0.0.1:2379"], prefix: "/tiffin" }],
    ["etcd://a:2379,b.example:2379, [::1]:2379", { kind: "etcd", endpoints: ["http://a:2379", "http://b.example:2379", "http://[::1]:2379"], prefix: "/tiffin" }],
    ["etcd://a:2379/", { kind: "etcd", endpoints: ["http://a:2379"], prefix: "/tiffin" }],
    ["etcd://a:2379/prod/tiffin/", { kind: "etcd", endpoints: ["http://a:2379"], prefix: "/prod/tiffin" }],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseStoreFlag(text), want, String(text));
  for (const bad of ["sqlite:", "etcd://", "etcd://a", "etcd://a:2379,", "etcd://a:b", "postgres://x", "state.db"]) {
    assert.throws(() => parseStoreFlag(bad), { code: "TIFFIN_USAGE" }, bad);
  }
});
