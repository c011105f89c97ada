// Server-sent events for the agent: the API client's reconnecting watcher and parser
// (src/api/sse-watch.ts, src/api/sse.ts), named here for the agent's modules.

export { SseParser } from "../api/sse.ts";
export type { SseEvent } from "../api/sse.ts";
export { nextBackoff, watchSse } from "../api/sse-watch.ts";
export type { SseWatch, WatchSseOptions } from "../api/sse-watch.ts";
