// The domain types and pure helpers at the bottom of the import graph (no I/O).
export * from "./job.ts";
export * from "./host.ts";
export * from "./task.ts";
export * from "./clock.ts";
export * from "./errors.ts";
export * from "./diff.ts";
export * from "./limits.ts";
export * from "./private-dir.ts";
export * from "./random.ts";
export * from "./module-file.ts";
export * from "./resources.ts";
export * from "./job-schema.ts";
export * from "./host-schema.ts";
export * from "./records.ts";
export * from "./task-metrics.ts";
export * from "./rollout.ts";
