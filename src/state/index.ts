// The store interface and its implementations.
export * from "./store.ts";
export { openSqliteStore, SqliteStore } from "./sqlite.ts";
export type { SqliteStoreOptions } from "./sqlite.ts";
export type { SyncLevel } from "./sqlite-db.ts";
export { prefixEnd, compareHolds, compareKeys } from "./keys.ts";
