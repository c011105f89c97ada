// The HTTP API's core: wire types, the fetch-based typed client, the SSE and watch readers. A web page
// can bundle this entry (nothing under it imports `node:`; api/browser.test.ts checks with esbuild).
// The node-only half (exec sessions, the release version read from disk) is ./node.ts.
export * from "./types.ts";
export * from "./client.ts";
export * from "./agent-client.ts";
export * from "./sse-watch.ts";
export * from "./http-errors.ts";
export * from "./sse.ts";
export * from "./watch-types.ts";
export * from "./watch-read.ts";
export * from "./exec-wire.ts";
export * from "./swarm-fetches.ts";
// What a web page needs of the model to read the answers and the watch: the objects' types and the
// error class with its codes (a 401 is TIFFIN_UNAUTHORIZED).
export type { DrainBlock, WindowPhase } from "../model/index.ts";
export type { Attempt, AttemptState, Host, HostStatus, JobRecord, JobVersion, Task, AliveValue, Endpoint, JobSpec, MaintenanceWindow, Rollout, Run, RunItem, RunAttempt } from "../model/index.ts";
export { ErrorCodes, TiffinError } from "../model/errors.ts";
export { allows } from "../model/acl.ts";
export { formatDiff } from "../model/diff.ts";
export { runItemCounts } from "../model/batch.ts";
export { windowPhase } from "../model/maintenance.ts";
export { DrainBlockReasonText } from "../model/host.ts";
// A job's id and its name and namespace apart (the typed watch names jobs by id: server README).
export { AllNamespaces, jobId, splitJobId } from "../model/namespace.ts";
export { DefaultNamespace } from "../model/acl.ts";
