// The scheduler's public surface: the index the server keeps, the plugins, and version ranges (for spec validation).
export { ClusterIndex, naivePlan } from "./cluster.ts";
export type { ClusterIndexOptions, Usage } from "./cluster.ts";
export type { SchedHost, SchedTask, PlanRequest, Plan, RejectReason } from "./types.ts";
export { FILTERS, STATIC_FILTERS, DYNAMIC_FILTERS } from "./filters.ts";
export type { FilterPlugin } from "./filters.ts";
export { SCORES } from "./scores.ts";
export { fitsInPlace, shiftLoad } from "./in-place.ts";
export { matchesConstraints } from "./matches.ts";
export type { InPlaceQuery, InPlaceLoad } from "./in-place.ts";
export type { ScorePlugin } from "./scores.ts";
export { parseVersion, parseVersionRange, compareVersions, satisfies } from "./versions.ts";
export type { Version, VersionRange, VersionClause } from "./versions.ts";
export { mulberry32 } from "./hash.ts";
