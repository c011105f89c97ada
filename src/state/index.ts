// The store interface and its implementations.
export * from "./store.ts";
