// The Mann-Whitney U test (Wilcoxon rank-sum) of two samples, as SciPy's `mannwhitneyu` computes
// it: U of the first sample, midranks for ties; the exact distribution of U when both samples are
// small and have no ties, else the normal approximation with the tie correction and a continuity
// correction of 1/2. Pure; table-tested against published and hand-computed values.
import { normalCdf, normalSf } from "./distributions.ts";

/** Which difference the test looks for: `greater` means x tends to be larger than y. */
export type Alternative = "two-sided" | "greater" | "less";

/** The result of a Mann-Whitney U test (`p` null when either sample is empty: no test). */
export interface MannWhitneyResult {
  nX: number;
  nY: number;
  /** U of x: pairs (xi, yj) with xi > yj, plus half the ties. */
  u: number;
  p: number | null;
  method: "exact" | "normal" | "none";
  /** The standardized statistic of the normal approximation (with continuity correction); null otherwise. */
  z: number | null;
}

/** Options of mannWhitney. */
export interface MannWhitneyOptions {
  /** @default "two-sided" */
  alternative?: Alternative;
  /** Use the exact distribution when there are no ties and both samples are at most this large. @default 20 */
  exactMax?: number;
}

/** Midranks (1-based) of `values` and the tie term Σ(t³ - t) over groups of equal values. */
export function ranks(values: readonly number[]): { ranks: Float64Array; tieTerm: number } {
  const order = Array.from(values.keys()).sort((a, b) => (values[a] ?? 0) - (values[b] ?? 0));
  const out = new Float64Array(values.length);
  let tieTerm = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1] ?? 0] === values[order[i] ?? 0]) j++;
    const t = j - i + 1;
    const mid = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k] ?? 0] = mid;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  return { ranks: out, tieTerm };
}

const exactCache = new Map<string, Float64Array>();

/** The number of orderings of m x's and n y's for each U of x (0..m·n): N(m,n,u) = N(m-1,n,u-n) + N(m,n-1,u). */
export function exactCounts(m: number, n: number): Float64Array {
  const key = `${m},${n}`;
  const hit = exactCache.get(key);
  if (hit) return hit;
  // prev[j] holds the counts for (i - 1, j); cur[j] for (i, j); each an array over u.
  let prev: Float64Array[] = Array.from({ length: n + 1 }, () => Float64Array.of(1));
  for (let i = 1; i <= m; i++) {
    const cur: Float64Array[] = [Float64Array.of(1)];
    for (let j = 1; j <= n; j++) {
      const c = new Float64Array(i * j + 1);
      const left = cur[j - 1] ?? new Float64Array(1);
      for (let u = 0; u < left.length; u++) c[u] = left[u] ?? 0;
      const up = prev[j] ?? new Float64Array(1);
      for (let u = 0; u < up.length; u++) c[u + j] = (c[u + j] ?? 0) + (up[u] ?? 0);
      cur.push(c);
    }
    prev = cur;
  }
  const out = prev[n] ?? Float64Array.of(1);
  exactCache.set(key, out);
  return out;
}

function exactP(u: number, m: number, n: number, alternative: Alternative): number {
  const counts = exactCounts(m, n);
  let total = 0;
  for (const c of counts) total += c;
  let atLeast = 0;
  let atMost = 0;
  for (let k = 0; k < counts.length; k++) {
    if (k >= u) atLeast += counts[k] ?? 0;
    if (k <= u) atMost += counts[k] ?? 0;
  }
  if (alternative === "greater") return atLeast / total;
  if (alternative === "less") return atMost / total;
  return Math.min(1, (2 * Math.min(atLeast, atMost)) / total);
}

/** The Mann-Whitney U test of x against y. Non-finite values are a bug of the caller (filter them first). */
export function mannWhitney(x: readonly number[], y: readonly number[], o: MannWhitneyOptions = {}): MannWhitneyResult {
  const alternative = o.alternative ?? "two-sided";
  const nX = x.length;
  const nY = y.length;
  if (nX === 0 || nY === 0) return { nX, nY, u: 0, p: null, method: "none", z: null };
  const { ranks: r, tieTerm } = ranks([...x, ...y]);
  let rankSumX = 0;
  for (let i = 0; i < nX; i++) rankSumX += r[i] ?? 0;
  const u = rankSumX - (nX * (nX + 1)) / 2;
  const exactMax = o.exactMax ?? 20;
  if (tieTerm === 0 && nX <= exactMax && nY <= exactMax) return { nX, nY, u, p: exactP(u, nX, nY, alternative), method: "exact", z: null };
  const n = nX + nY;
  const mean = (nX * nY) / 2;
  const variance = ((nX * nY) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  // Every value equal: no evidence of any difference.
  if (!(variance > 0)) return { nX, nY, u, p: 1, method: "normal", z: 0 };
  const sd = Math.sqrt(variance);
  let z: number;
  let p: number;
  if (alternative === "greater") {
    z = (u - mean - 0.5) / sd;
    p = normalSf(z);
  } else if (alternative === "less") {
    z = (u - mean + 0.5) / sd;
    p = normalCdf(z);
  } else {
    z = (Math.abs(u - mean) - 0.5) / sd;
    p = Math.min(1, 2 * normalSf(z));
  }
  return { nX, nY, u, p, method: "normal", z };
}
