// Tiffin's release version, read once from the package's package.json (one source for the CLI's
// `tiffin version` and the server's GET /v1/cluster).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { readJsonAs } from "../model/json-read.ts";

let cached: string | null = null;

// The single executable has no package.json beside it: its build (packaging/sea/build.ts) writes the
// version in here instead.
declare const TIFFIN_EMBEDDED_VERSION: string | undefined;

/** The `version` of Tiffin's package.json, or "unknown" when it cannot be read. */
export function tiffinVersion(): string {
  if (cached !== null) return cached;
  if (typeof TIFFIN_EMBEDDED_VERSION === "string") return (cached = TIFFIN_EMBEDDED_VERSION);
  try {
    cached = readJsonAs(z.object({ version: z.string() }), readFileSync(join(import.meta.dirname, "..", "..", "package.json"), "utf8"))?.version ?? "unknown";
  } catch {
    cached = "unknown";
  }
  return cached;
}
