// The agent's side of a CA rotation, as tables: when a heartbeat's CAs ask for a new certificate now
// (tls.ts caRenewNeeded), and the certificates of a trust bundle (pemsOf).
import assert from "node:assert/strict";
import { test } from "node:test";
import { caRenewNeeded, pemsOf } from "./tls.ts";

void test("caRenewNeeded: renew when the signing CA or the trusted set differ, not for the order", () => {
  const cases: [string, { issuer: string | null; trust: string[] }, { signing: string; trust: string[] }, boolean][] = [
    ["in step", { issuer: "ha", trust: ["ha"] }, { signing: "ha", trust: ["ha"] }, false],
    ["rotation started", { issuer: "ha", trust: ["ha"] }, { signing: "hb", trust: ["ha", "hb"] }, true],
    ["moved, trust learnt", { issuer: "hb", trust: ["ha", "hb"] }, { signing: "hb", trust: ["hb", "ha"] }, false],
    ["finished: drop the old CA", { issuer: "hb", trust: ["ha", "hb"] }, { signing: "hb", trust: ["hb"] }, true],
    ["no certificate yet", { issuer: null, trust: ["ha"] }, { signing: "ha", trust: ["ha"] }, true],
  ];
  for (const [name, held, server, want] of cases) assert.equal(caRenewNeeded(held, server), want, name);
});

void test("pemsOf: every certificate of a bundle, in order", () => {
  const pem = (x: string): string => `-----BEGIN CERTIFICATE-----\n${x}\n-----END CERTIFICATE-----\n`;
  assert.deepEqual(pemsOf(`${pem("AAAA")}${pem("BBBB")}`), [pem("AAAA"), pem("BBBB")]);
  assert.deepEqual(pemsOf(pem("AAAA").trim()), [pem("AAAA")]);
  assert.deepEqual(pemsOf(""), []);
});
