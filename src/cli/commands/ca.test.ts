// What `tiffin ca status|rotate` print, from answers (no server): roles, hosts per CA, who a finish
// waits for; the hashes to use next; and refresh-ca's checks of a trust answer (ca-refresh.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { CaStatus } from "../../api/ca-wire.ts";
import { renderCaStatus, renderFinished, renderRotated } from "./ca.ts";
import { checkTrust } from "./ca-refresh.ts";

const status = (over: Partial<CaStatus>): CaStatus => ({
  rotating: true,
  cas: [
    { hash: "sha256:aa", subject: "CN=tiffin cluster CA", notAfter: Date.UTC(2036, 0, 1), signsHosts: false, serves: true, hosts: 1 },
    { hash: "sha256:bb", subject: "CN=tiffin cluster CA 2", notAfter: Date.UTC(2036, 6, 1), signsHosts: true, serves: false, hosts: 2 },
  ],
  hosts: [],
  unknownHosts: 0,
  notMoved: ["beta"],
  ...over,
});

void test("ca status: each CA's role and hosts; who a finish waits for, or that it may go", () => {
  const text = renderCaStatus(status({}));
  assert.match(text, /sha256:aa\s+serves, retiring\s+1/);
  assert.match(text, /sha256:bb\s+signs hosts\s+2/);
  assert.match(text, /rotation in progress/);
  assert.match(text, /live hosts not moved yet: beta/);
  assert.match(renderCaStatus(status({ notMoved: [], unknownHosts: 3 })), /3 host\(s\) with no certificate known\nevery live host has moved: ready to finish/);
  const stable = renderCaStatus(status({ rotating: false, cas: [{ hash: "sha256:bb", subject: "CN=x", notAfter: 0, signsHosts: true, serves: true, hosts: 3 }], notMoved: [] }));
  assert.match(stable, /sha256:bb\s+signs hosts, serves\s+3/);
  assert.match(stable, /no rotation in progress\n$/);
});

void test("ca rotate and --finish: the hashes new agents use, the hosts a force cut off", () => {
  const r = renderRotated({ previous: "sha256:aa", current: "sha256:bb", subject: "CN=x" });
  assert.match(r, /--ca-hash sha256:aa until the finish, --ca-hash sha256:bb after/);
  assert.match(r, /tiffin context refresh-ca/);
  assert.match(renderFinished({ dropped: "sha256:aa", current: "sha256:bb", forced: ["beta"] }), /forced past beta: they must join again with --ca-hash sha256:bb/);
  assert.doesNotMatch(renderFinished({ dropped: "sha256:aa", current: "sha256:bb", forced: [] }), /forced/);
});

void test("refresh-ca refuses a trust answer that is not CA certificates, misses the serving CA or the given hash", () => {
  const where = "the server";
  const cases: [string, Parameters<typeof checkTrust>[0], string | undefined, RegExp][] = [
    ["not a certificate", { trust: [{ hash: "sha256:aa", certPem: "junk" }], serving: "sha256:aa", signing: "sha256:aa" }, undefined, /not a PEM certificate/],
    ["no CAs: the serving one missing", { trust: [], serving: "sha256:aa", signing: "sha256:aa" }, undefined, /servers' CA sha256:aa is not among/],
  ];
  for (const [name, answer, hash, want] of cases) assert.throws(() => checkTrust(answer, hash, where), (e: Error) => want.test(e.message), name);
});
