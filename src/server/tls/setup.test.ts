// Pure decisions of tls/setup.ts, by tables: when a server speaks TLS, and the names its certificate lists.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DefaultTlsOffLoopback, hostCertNames, serverNames, tlsWanted } from "./setup.ts";

void test("when a server speaks TLS: as asked; off loopback by default; never by default on loopback", () => {
  const cases: { name: string; on: boolean | undefined; host: string | undefined; offLoopback: boolean; want: boolean }[] = [
    { name: "--tls on loopback", on: true, host: "127.0.0.1", offLoopback: false, want: true },
    { name: "loopback, not asked", on: undefined, host: "127.0.0.1", offLoopback: true, want: false },
    { name: "::1, not asked", on: undefined, host: "::1", offLoopback: true, want: false },
    { name: "every interface with the default on", on: undefined, host: undefined, offLoopback: true, want: true },
    { name: "an address with the default on", on: undefined, host: "10.0.0.5", offLoopback: true, want: true },
    { name: "every interface with the default held back", on: undefined, host: "0.0.0.0", offLoopback: false, want: false },
    { name: "turned off explicitly", on: false, host: "0.0.0.0", offLoopback: true, want: false },
  ];
  for (const c of cases) assert.equal(tlsWanted(c.on, c.host, c.offLoopback), c.want, c.name);
  assert.equal(tlsWanted(undefined, "0.0.0.0"), DefaultTlsOffLoopback, "the default in force");
  assert.equal(DefaultTlsOffLoopback, true, "TLS by default off loopback (issue 17)");
  assert.equal(tlsWanted(undefined, undefined), true, "every interface, no flag: TLS");
  assert.equal(tlsWanted(undefined, "127.0.0.1"), false, "loopback, no flag: plain");
});

void test("a server certificate's names: listen and advertised hosts, the machine, loopback; no wildcard address", () => {
  assert.deepEqual(serverNames("10.0.0.5", undefined, "m1"), ["10.0.0.5", "m1", "localhost", "127.0.0.1", "::1"]);
  assert.deepEqual(serverNames("0.0.0.0", "https://api.example.test:7070", "m1"), ["api.example.test", "m1", "localhost", "127.0.0.1", "::1"]);
  assert.deepEqual(serverNames(undefined, "https://[fd00::1]:7070", "m1"), ["fd00::1", "m1", "localhost", "127.0.0.1", "::1"]);
  assert.deepEqual(serverNames("127.0.0.1", undefined, "m1"), ["127.0.0.1", "m1", "localhost", "::1"]);
  // Every interface: its addresses too (users and agents dial one of them); a given address: that one only.
  assert.deepEqual(serverNames("0.0.0.0", undefined, "m1", ["10.0.0.5", "fd00::5"]), ["m1", "10.0.0.5", "fd00::5", "localhost", "127.0.0.1", "::1"]);
  assert.deepEqual(serverNames("10.0.0.5", undefined, "m1", ["10.0.0.5", "192.168.1.2"]), ["10.0.0.5", "m1", "localhost", "127.0.0.1", "::1"]);
});

void test("a host certificate's serving names: the host part of the address it registered, nothing else", () => {
  const cases: { name: string; address: string | undefined; want: string[] }[] = [
    { name: "IPv4", address: "10.0.0.5:7071", want: ["10.0.0.5"] },
    { name: "loopback", address: "127.0.0.1:40001", want: ["127.0.0.1"] },
    { name: "IPv6 in brackets", address: "[fd00::5]:7071", want: ["fd00::5"] },
    { name: "a DNS name", address: "node-3.example.test:7071", want: ["node-3.example.test"] },
    { name: "no host record", address: undefined, want: [] },
    { name: "not host:port", address: "10.0.0.5", want: [] },
  ];
  for (const c of cases) assert.deepEqual(hostCertNames(c.address), c.want, c.name);
});
