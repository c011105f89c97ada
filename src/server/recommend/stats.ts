// Small statistics over usage samples, pure: nearest-rank percentiles and a least-squares slope.

/** The nearest-rank `p` percentile (0 < p <= 1) of `values`, or null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] ?? null;
}

/** The least-squares slope of y over x (y per unit of x), or null with fewer than 2 distinct x. */
export function slope(points: readonly (readonly [number, number])[]): number | null {
  if (points.length < 2) return null;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

/** Memory rounded up to a sane unit: 8 MiB steps below 256 MiB, 32 below 1 GiB, 128 below 8 GiB, then 512; at least 32 MiB. */
export function roundMemoryMiB(mib: number): number {
  const step = mib < 256 ? 8 : mib < 1024 ? 32 : mib < 8192 ? 128 : 512;
  return Math.max(32, Math.ceil(mib / step - 1e-9) * step);
}

/** Cores rounded up to a sane unit: 0.05 below 1 core, 0.1 below 4, then 0.25; at least 0.05. */
export function roundCpu(cores: number): number {
  const step = cores < 1 ? 0.05 : cores < 4 ? 0.1 : 0.25;
  const steps = Math.ceil(cores / step - 1e-9);
  return Math.max(0.05, Math.round(steps * step * 100) / 100);
}
