// Packages: content-addressed pieces, manifests and unpacked trees (pure logic plus local files).

export * from "./manifest.ts";
export * from "./pieces.ts";
export * from "./build.ts";
export * from "./unpack.ts";
export * from "./ref.ts";
export * from "./wire.ts";
export * from "./buffer-pool.ts";
