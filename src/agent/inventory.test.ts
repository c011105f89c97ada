import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { advertiseAddress, detectInventory, localAddressToward, parseAdvertise, parseListen, parseOsRelease } from "./inventory.ts";
import type { AdvertiseHints } from "./inventory.ts";

const osCases: { name: string; text: string; want: { id: string; version: string } }[] = [
  { name: "debian", text: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n', want: { id: "debian", version: "12" } },
  { name: "ubuntu with CRLF", text: 'ID=ubuntu\r\nVERSION_ID="24.04"\r\n', want: { id: "ubuntu", version: "24.04" } },
  { name: "single quotes", text: "ID='rhel'\nVERSION_ID='9.4'\n", want: { id: "rhel", version: "9.4" } },
  { name: "escaped quote", text: 'ID="we\\"ird"\nVERSION_ID=1\n', want: { id: 'we"ird', version: "1" } },
  { name: "comments and blanks", text: "# comment\n\n  ID=alpine  \nVERSION_ID=3.20.1\n", want: { id: "alpine", version: "3.20.1" } },
  { name: "rolling release without VERSION_ID", text: "ID=arch\nBUILD_ID=rolling\n", want: { id: "arch", version: "unknown" } },
  { name: "empty file", text: "", want: { id: "unknown", version: "unknown" } },
  { name: "garbage lines", text: "not a var\n=x\nID=fedora\nVERSION_ID=40", want: { id: "fedora", version: "40" } },
];
for (const c of osCases) void test(`parseOsRelease: ${c.name}`, () => assert.deepEqual(parseOsRelease(c.text), c.want));

const ifaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = {
  lo: [{ address: "127.0.0.1", netmask: "255.0.0.0", family: "IPv4", mac: "00:00:00:00:00:00", internal: true, cidr: "127.0.0.1/8" }],
  eth0: [
    { address: "fe80::1", netmask: "ffff:ffff:ffff:ffff::", family: "IPv6", mac: "02:00:00:00:00:01", internal: false, cidr: "fe80::1/64", scopeid: 2 },
    { address: "10.1.2.3", netmask: "255.255.255.0", family: "IPv4", mac: "02:00:00:00:00:01", internal: false, cidr: "10.1.2.3/24" },
  ],
};
const addrCases: { name: string; host: string; port: number; ifs: NodeJS.Dict<os.NetworkInterfaceInfo[]>; hints?: AdvertiseHints; want: string }[] = [
  { name: "explicit host kept", host: "127.0.0.1", port: 7001, ifs: ifaces, want: "127.0.0.1:7001" },
  { name: "--advertise wins over the listen host", host: "10.1.2.3", port: 7001, ifs: ifaces, hints: { advertise: { host: "node1.example", port: 443 }, towardServer: "10.9.9.9" }, want: "node1.example:443" },
  { name: "--advertise without a port takes the bound one", host: "0.0.0.0", port: 7001, ifs: ifaces, hints: { advertise: { host: "192.0.2.7", port: null } }, want: "192.0.2.7:7001" },
  { name: "--advertise IPv6 bracketed", host: "::", port: 7001, ifs: ifaces, hints: { advertise: { host: "fd00::5", port: null } }, want: "[fd00::5]:7001" },
  { name: "wildcard: the address on the route to the server", host: "0.0.0.0", port: 7001, ifs: ifaces, hints: { towardServer: "10.99.0.2" }, want: "10.99.0.2:7001" },
  { name: "a specific listen host beats the route to the server", host: "10.1.2.3", port: 7001, ifs: ifaces, hints: { towardServer: "10.99.0.2" }, want: "10.1.2.3:7001" },
  { name: "wildcard, server unreachable: first external IPv4", host: "0.0.0.0", port: 7001, ifs: ifaces, hints: { towardServer: null }, want: "10.1.2.3:7001" },
  { name: "wildcard becomes first external IPv4", host: "0.0.0.0", port: 7001, ifs: ifaces, want: "10.1.2.3:7001" },
  { name: "IPv6 wildcard too", host: "::", port: 9, ifs: ifaces, want: "10.1.2.3:9" },
  { name: "wildcard without external interface falls back to loopback", host: "0.0.0.0", port: 9, ifs: { lo: ifaces["lo"] }, want: "127.0.0.1:9" },
  { name: "IPv6 literal bracketed", host: "::1", port: 9, ifs: ifaces, want: "[::1]:9" },
];
for (const c of addrCases) void test(`advertiseAddress: ${c.name}`, () => assert.equal(advertiseAddress(c.host, c.port, c.ifs, c.hints), c.want));

const advertiseCases: { text: string; want: { host: string; port: number | null } | null }[] = [
  { text: "10.0.0.5:7071", want: { host: "10.0.0.5", port: 7071 } },
  { text: "node1.example", want: { host: "node1.example", port: null } },
  { text: "[fd00::5]:80", want: { host: "fd00::5", port: 80 } },
  { text: "[fd00::5]", want: { host: "fd00::5", port: null } },
  { text: "0.0.0.0:7071", want: null },
  { text: "[::]:7071", want: null },
  { text: "", want: null },
  { text: "10.0.0.5:0", want: null },
  { text: "10.0.0.5:70000", want: null },
  { text: "http://10.0.0.5:7071", want: null },
  { text: "fd00::5", want: null },
];
for (const c of advertiseCases) void test(`parseAdvertise: ${JSON.stringify(c.text)}`, () => assert.deepEqual(parseAdvertise(c.text), c.want));

void test("localAddressToward: the local address of the route, or null", async () => {
  assert.equal(await localAddressToward("http://127.0.0.1:7070"), "127.0.0.1");
  assert.equal(await localAddressToward("http://127.0.0.1:7070,http://10.0.0.1:7070"), "127.0.0.1", "the first of several servers");
  assert.equal(await localAddressToward("not a url"), null);
  assert.equal(await localAddressToward("http://no-such-host.invalid:7070"), null);
});

const listenCases: { text: string; want: { host: string; port: number } }[] = [
  { text: "127.0.0.1:0", want: { host: "127.0.0.1", port: 0 } },
  { text: "0.0.0.0:7070", want: { host: "0.0.0.0", port: 7070 } },
  { text: ":7070", want: { host: "127.0.0.1", port: 7070 } },
  { text: "[::1]:80", want: { host: "::1", port: 80 } },
  { text: "localhost", want: { host: "localhost", port: 0 } },
];
for (const c of listenCases) void test(`parseListen: ${JSON.stringify(c.text)}`, () => assert.deepEqual(parseListen(c.text), c.want));

void test("detectInventory: real machine, overrides win, runtime none", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-inv-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const real = await detectInventory({ name: "h1", address: "127.0.0.1:1", dataDir: dir, labels: { rack: "r1" } });
  assert.equal(real.cores, os.availableParallelism());
  assert.ok(real.memoryMiB > 0 && real.diskMiB > 0);
  assert.equal(real.kernel, os.release());
  assert.equal(real.runtime, "none");
  assert.deepEqual(real.labels, { rack: "r1" });
  const over = await detectInventory({ name: "h1", address: "a:1", dataDir: dir, labels: {}, resources: { cores: 3, memoryMiB: 100 } });
  assert.equal(over.cores, 3);
  assert.equal(over.memoryMiB, 100);
  assert.ok(over.diskMiB > 0, "disk is still detected when not overridden");
});
