import { test } from "node:test";
import assert from "node:assert/strict";
import { compareVersions, parseVersion, parseVersionRange, satisfies } from "./versions.ts";

void test("parseVersion reads the leading dotted numbers", () => {
  const cases: [string, number[] | null][] = [
    ["6.1.0-18-amd64", [6, 1, 0]],
    ["5.10", [5, 10]],
    ["v7", [7]],
    ["  6.12.3+deb", [6, 12, 3]],
    ["generic", null],
    ["", null],
  ];
  for (const [s, want] of cases) assert.deepEqual(parseVersion(s), want, s);
});

void test("compareVersions compares numerically, missing components as 0", () => {
  const cases: [number[], number[], number][] = [
    [[5, 10], [5, 9], 1],
    [[5, 9], [5, 10], -1],
    [[6, 1, 0], [6, 1], 0],
    [[6], [6, 0, 1], -1],
    [[7], [6, 99], 1],
  ];
  for (const [a, b, sign] of cases) assert.equal(Math.sign(compareVersions(a, b)), sign, `${a} vs ${b}`);
});

void test("kernel ranges", () => {
  const cases: [string, string, boolean][] = [
    [">=6.1", "6.1.0-18-amd64", true],
    [">=6.1", "6.0.9", false],
    [">=6.1", "5.10.0-28-amd64", false],
    [">=5.10 <7", "5.10.0", true],
    [">=5.10 <7", "5.9.12", false],
    [">=5.10 <7", "6.12.9", true],
    [">=5.10 <7", "7.0", false],
    [">=5.10, <7", "6.1", true],
    ["<6", "5.15", true],
    [">5.10", "5.10.0", false],
    [">5.10", "5.10.1", true],
    ["<=6.1", "6.1.0", true],
    ["6.1", "6.1.0", true],
    ["==6.1", "6.1.1", false],
  ];
  for (const [range, kernel, want] of cases) {
    const r = parseVersionRange(range);
    assert.ok(!("error" in r), range);
    assert.equal(satisfies(parseVersion(kernel)!, r), want, `${kernel} in ${range}`);
  }
});

void test("bad ranges are values with a message", () => {
  for (const bad of ["", "  ", ">=six", "~6.1", ">= 6.1"]) {
    const r = parseVersionRange(bad);
    assert.ok("error" in r, `${JSON.stringify(bad)} should not parse`);
  }
});
