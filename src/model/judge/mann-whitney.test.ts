import { test } from "node:test";
import assert from "node:assert/strict";
import { exactCounts, mannWhitney, ranks } from "./mann-whitney.ts";
import { binomialSf, logGamma, normalSf } from "./distributions.ts";

const close = (got: number | null, want: number, tol: number, what: string): void => {
  assert.ok(got !== null && Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} ± ${tol}`);
};

// SciPy's documented example (scipy.stats.mannwhitneyu): ages of male and female authors.
const males = [19, 22, 16, 29, 24];
const females = [20, 11, 17, 12];

void test("mannWhitney: SciPy's published example, exact and asymptotic", () => {
  const exact = mannWhitney(males, females);
  assert.equal(exact.u, 17);
  assert.equal(exact.method, "exact");
  // By hand: C(9,4) = 126 orderings; U >= 17 for 7 of them (U = 20, 19, 18, 18, 17, 17, 17), doubled.
  close(exact.p, 14 / 126, 1e-12, "exact two-sided");
  close(exact.p, 0.1111111111111111, 1e-12, "SciPy exact");
  close(mannWhitney(males, females, { alternative: "greater" }).p, 7 / 126, 1e-12, "exact greater");
  close(mannWhitney(males, females, { alternative: "less" }).p, 1 - 4 / 126, 1e-12, "exact less: P(U <= 17) = 1 - P(U >= 18), 1 + 1 + 2 orderings");
  const normal = mannWhitney(males, females, { exactMax: 0 });
  assert.equal(normal.method, "normal");
  close(normal.p, 0.11134688653314041, 1e-6, "SciPy asymptotic");
  // One-sided, asymptotic: half the two-sided p here, with the same continuity correction.
  close(mannWhitney(males, females, { exactMax: 0, alternative: "greater" }).p, 0.11134688653314041 / 2, 1e-6, "asymptotic greater");
  close(mannWhitney(females, males, { exactMax: 0, alternative: "less" }).p, 0.11134688653314041 / 2, 1e-6, "asymptotic less, sides swapped");
  // By hand: mean 10, sd sqrt(5·4·10/12), z = (7 - 0.5)/sd.
  close(normal.z, 6.5 / Math.sqrt(200 / 12), 1e-12, "z");
});

void test("mannWhitney: ties use midranks and the tie-corrected variance (hand-computed)", () => {
  const x = [1, 2, 2, 3];
  const y = [2, 3, 3, 4, 5];
  assert.deepEqual([...ranks([...x, ...y]).ranks], [1, 3, 3, 6, 3, 6, 6, 8, 9]);
  const r = mannWhitney(x, y);
  assert.equal(r.method, "normal", "ties rule out the exact distribution");
  assert.equal(r.u, 3); // rank sum 13 - 4·5/2
  const tieTerm = 2 * (27 - 3);
  const sd = Math.sqrt(((4 * 5) / 12) * (10 - tieTerm / (9 * 8)));
  close(r.p, 2 * normalSf((7 - 0.5) / sd), 1e-9, "two-sided with ties");
  close(r.p, 0.0993, 5e-4, "about 0.0993");
  close(mannWhitney(x, y, { alternative: "less" }).p, normalSf((7 - 0.5) / sd), 1e-9, "less");
});

void test("mannWhitney: edge cases", () => {
  const cases: [string, number[], number[], { u: number; p: number | null; method: string }][] = [
    ["both empty", [], [], { u: 0, p: null, method: "none" }],
    ["one side empty", [1, 2], [], { u: 0, p: null, method: "none" }],
    ["n=1 each, different", [2], [1], { u: 1, p: 1, method: "exact" }],
    ["n=1 each, equal: a tie", [1], [1], { u: 0.5, p: 1, method: "normal" }],
    ["all equal", [5, 5, 5], [5, 5], { u: 3, p: 1, method: "normal" }],
    ["complete separation, 3 vs 3", [4, 5, 6], [1, 2, 3], { u: 9, p: 2 / 20, method: "exact" }],
  ];
  for (const [name, x, y, want] of cases) {
    const r = mannWhitney(x, y);
    assert.deepEqual({ u: r.u, p: r.p, method: r.method }, want, name);
  }
  close(mannWhitney([2], [1], { alternative: "greater" }).p, 0.5, 1e-12, "n=1 greater");
});

void test("exactCounts: every ordering counted once, symmetric", () => {
  for (const [m, n] of [[1, 1], [3, 4], [8, 8], [20, 20]] as const) {
    const c = exactCounts(m, n);
    assert.equal(c.length, m * n + 1);
    const total = c.reduce((a, b) => a + b, 0);
    assert.equal(total, Math.round(Math.exp(logGamma(m + n + 1) - logGamma(m + 1) - logGamma(n + 1))), `C(${m + n},${m})`);
    for (let u = 0; u <= m * n; u++) assert.equal(c[u], c[m * n - u]);
  }
});

void test("mannWhitney: exact and normal agree for 20 vs 20 distinct values", () => {
  const x = Array.from({ length: 20 }, (_, i) => i * 1.3 + 4.05);
  const y = Array.from({ length: 20 }, (_, i) => i * 1.1);
  const exact = mannWhitney(x, y, { alternative: "greater" });
  const normal = mannWhitney(x, y, { alternative: "greater", exactMax: 0 });
  assert.equal(exact.method, "exact");
  close(normal.p, exact.p ?? -1, 0.005, "normal close to exact");
});

void test("distributions: known values", () => {
  close(normalSf(1.959963984540054), 0.025, 1e-8, "normal 97.5% point");
  close(logGamma(10), Math.log(362880), 1e-10, "ln 9!");
  close(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-10, "ln Γ(1/2)");
  close(binomialSf(3, 3, 0.1), 0.001, 1e-12, "all three");
  close(binomialSf(1, 10, 0.5), 1 - 1 / 1024, 1e-12, "at least one of ten");
  close(binomialSf(600, 1000, 0.5), 1.3642e-10, 1e-13, "far tail");
  assert.equal(binomialSf(0, 5, 0.3), 1);
  assert.equal(binomialSf(6, 5, 0.3), 0);
});
