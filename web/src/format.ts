// Figures as the CLI writes them.

/** "3s ago", "5m ago", "2h ago", "4d ago". */
export function ago(ms: number | null, now: number = Date.now()): string {
  if (ms === null) return "-";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** A time of day, local, to the second. */
export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

/** Percent of a fraction, rounded. */
export function pct(f: number): string {
  return `${Math.round(f * 100)}%`;
}

/** MiB as the CLI shows it (MiB under 10 GiB, else GiB with one decimal). */
export function mib(n: number): string {
  return n >= 10240 ? `${(n / 1024).toFixed(1)} GiB` : `${Math.round(n)} MiB`;
}

/** Bytes in the largest unit that keeps a figure of at least 1: "512 B", "3.2 KiB", "14.0 MiB". */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[u]}`;
}
