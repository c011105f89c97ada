// Reading attempt.json. The agent wrote it, but a helper that trusts a malformed file would fail in
// stranger ways later, so the shape is checked up front against config-schema.ts (through the
// zod-free checker of checks.ts) and every problem named with its field path.
import { formatPath } from "../model/diff.ts";
import { valueAt } from "../model/errors.ts";
import { helperChecks } from "./checks.ts";
import type { HelperConfig } from "./protocol.ts";

/** The config, or the list of problems that make it unusable. */
export type ConfigResult = { ok: true; config: HelperConfig } | { ok: false; problems: string[] };

/** Checks that `v` (parsed attempt.json) is a HelperConfig: each problem as `attempt.json: PATH: what (got VALUE)`. */
export function parseHelperConfig(v: unknown): ConfigResult {
  const r = helperChecks().config(v);
  // The checker returns the shape the schema declares (config-schema.ts asserts it is HelperConfig).
  if (r.ok) return { ok: true, config: r.value as HelperConfig };
  return { ok: false, problems: r.problems.map((i) => `attempt.json: ${formatPath(i.path) || "(root)"}: ${i.message}, got ${JSON.stringify(valueAt(v, i.path)) ?? "nothing"}`) };
}
