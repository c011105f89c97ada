// The HTTP API: wire types and the typed client.
export * from "./types.ts";
export * from "./client.ts";
export * from "./sse.ts";
export * from "./watch-types.ts";
export * from "./watch-read.ts";
export * from "./exec-wire.ts";
export * from "./version.ts";
