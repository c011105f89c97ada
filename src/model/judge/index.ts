// The rollout judge: pure statistics and verdicts over plain data (README.md beside this file).
export * from "./verdict.ts";
export * from "./distributions.ts";
export * from "./mann-whitney.ts";
export * from "./compare.ts";
export * from "./samples.ts";
export * from "./efficiency.ts";
export * from "./crash-rate.ts";
export * from "./checks-spec.ts";
export * from "./health.ts";
export * from "./phase.ts";
