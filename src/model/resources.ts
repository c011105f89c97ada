// CPU, memory and disk: the one declaration of the shape that specs ask for, hosts book and the
// scheduler adds up (cpu in cores, the rest in MiB).
import { z } from "zod";

/** `{cpu, memoryMiB, diskMiB}` as stored and sent: cores, MiB, MiB. Bounds are the spec's (src/spec). */
export const resourcesSchema = z.object({
  /** Cores (fractions allowed). */
  cpu: z.number(),
  memoryMiB: z.number(),
  diskMiB: z.number(),
});
/** CPU in cores, memory and disk in MiB. */
export type Resources = z.infer<typeof resourcesSchema>;

/** What an attempt's cgroup says it uses, sampled by its helper. */
export const resourceUsageSchema = z.object({
  /** Epoch ms of the sample. */
  at: z.number(),
  /** CPU time used since the start, seconds. */
  cpuSeconds: z.number(),
  /** Cores used on average since the previous sample (null for the first one). */
  cpuCores: z.number().nullable(),
  memoryBytes: z.number(),
  /** The most memory used so far (null where the kernel does not say). */
  memoryPeakBytes: z.number().nullable(),
  /** Processes and threads now (null without the pids controller). */
  pids: z.number().nullable(),
  /** CPU time the cgroup was throttled for (its quota used up) since the start, seconds (cpu.stat
   * `throttled_usec`; null where the kernel does not say; absent from helpers older than it). */
  throttledSeconds: z.number().nullable().exactOptional(),
  /** CPU quota periods (100 ms each) since the start, and those in which the quota ran out (cpu.stat
   * `nr_periods`, `nr_throttled`): their ratio is the share of time the limit held the task back,
   * bounded by 1 whatever the number of CPUs (throttled time is summed over CPUs). */
  cpuPeriods: z.number().nullable().exactOptional(),
  cpuThrottledPeriods: z.number().nullable().exactOptional(),
  /** Processes the kernel's OOM killer killed in the cgroup since the start (memory.events `oom_kill`;
   * null where the kernel does not say; absent from helpers older than it). */
  oomKills: z.number().nullable().exactOptional(),
  /** Bytes read from and written to block devices since the start (cgroup v2 io.stat `rbytes`/`wbytes`
   * summed over devices, v1 blkio `io_service_bytes`; null where the kernel does not say; absent from
   * helpers older than it). Page-cache writes count when they reach the device. */
  ioReadBytes: z.number().nullable().exactOptional(),
  ioWriteBytes: z.number().nullable().exactOptional(),
  /** Bytes per second read and written since the previous sample (null for the first one). */
  ioReadRate: z.number().nullable().exactOptional(),
  ioWriteRate: z.number().nullable().exactOptional(),
});
/** One cgroup sample of an attempt (resourceUsageSchema). */
export type ResourceUsage = z.infer<typeof resourceUsageSchema>;

/** True when A and B are assignable both ways: `Assert<TypesMatch<A, B>>` pins a hand-written type to
 * a schema's inferred one at compile time. */
export type TypesMatch<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compiles only when T is `true` (see TypesMatch). */
export type Assert<T extends true> = T;
