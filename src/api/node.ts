// The HTTP API's node-only half: the client with exec sessions, the upgrade that opens them, and the
// release version read from package.json. Everything of ./index.ts too.
export * from "./index.ts";
export * from "./node-client.ts";
export * from "./exec-upgrade.ts";
export * from "./version.ts";
