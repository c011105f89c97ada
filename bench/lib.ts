// Small helpers shared by the control-plane benchmarks (c1m.ts, ha.ts): raw keep-alive HTTP calls
// (cheaper than fetch when tens of thousands of simulated agents call the API), a bounded pool, and
// /proc readings of a server process.

import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";

/** A keep-alive connection pool for the simulated fleet. */
export const keepAlive = new Agent({ keepAlive: true, maxSockets: 128 });

/** One HTTP call to `base` (http://host:port) over the keep-alive pool; resolves with status and parsed body. */
export function call<T>(base: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: T }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      { host: u.hostname, port: u.port, method, path, agent: keepAlive, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(data ? { "content-length": Buffer.byteLength(data) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          try {
            resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : null) as T });
          } catch (err) {
            reject(err as Error);
          }
        });
      },
    );
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

/** Runs `fn` over `items`, at most `width` at a time. */
export async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** CPU seconds (user + system) a process has used. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in ticks of 1/100 s
}

/** Peak resident memory of a process, MiB. */
export function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Math.round(Number(m?.[1] ?? 0) / 1024);
}

/** The p-th percentile of an ascending array. */
export function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
