// Resolving a spec's package references to exact ids at apply, and finding which job versions pin a
// package (so `pkg rm` can refuse).

import { ErrorCodes, TiffinError } from "../../model/index.ts";
import type { JobSpec, PackagePin, Problem } from "../../model/index.ts";
import { parsePackageRef } from "../../pkg/index.ts";
import type { ServerContext } from "../context.ts";
import { decodeOne, Kinds, packageKey, packageTagKey } from "../kinds.ts";
import type { Mirror } from "../mirror.ts";
import { pinSecrets } from "../secrets/pins.ts";

/** `job@version` of every stored job version whose pins include `id`. */
export function pinnedBy(m: Mirror, id: string): string[] {
  const out: string[] = [];
  for (const [name, versions] of m.versions) {
    for (const [v, e] of versions) if (e.value.spec.pinned?.some((p) => p.id === id)) out.push(`${name}@${v}`);
  }
  return out;
}

/** Resolves `spec.packages` (a version first, then a tag); unknown ones fail with one 422 listing all. */
export async function resolvePins(ctx: ServerContext, spec: JobSpec): Promise<PackagePin[]> {
  const pins: PackagePin[] = [];
  const problems: Problem[] = [];
  for (const [i, text] of spec.packages.entries()) {
    const at = `packages[${i}]`;
    const ref = parsePackageRef(text);
    if ("error" in ref) {
      problems.push({ file: null, path: at, message: ref.error, value: JSON.stringify(text) });
      continue;
    }
    let kv = await ctx.store.get(packageKey(ref.name, ref.ref));
    if (!kv) {
      const tag = await ctx.store.get(packageTagKey(ref.name, ref.ref));
      const version = decodeOne(Kinds.packageTag, tag, ctx.log)?.version;
      if (version !== undefined) kv = await ctx.store.get(packageKey(ref.name, version));
    }
    const rec = decodeOne(Kinds.package, kv, ctx.log);
    if (!rec) {
      problems.push({ file: null, path: at, message: `package ${ref.name} has no version or tag "${ref.ref}"`, value: JSON.stringify(text) });
      continue;
    }
    pins.push({ ref: text, name: rec.name, version: rec.version, id: rec.id });
  }
  if (problems.length > 0) {
    throw new TiffinError(ErrorCodes.SpecInvalid, `${problems.length} package reference${problems.length === 1 ? "" : "s"} of job ${spec.name} could not be resolved`, {
      hint: "push the package (`tiffin pkg push`) or fix the name; list packages with `tiffin pkg ls`",
      problems,
    });
  }
  return pins;
}

/** The spec as stored: its packages and secrets pinned (no `pinned` or `secretVersions` field when it
 * has none, so older specs compare equal). */
export async function pinSpec(ctx: ServerContext, sent: JobSpec): Promise<JobSpec> {
  const spec = pinSecrets(sent, ctx.mirror.secretValues);
  const { pinned: _ignored, ...rest } = spec;
  if (spec.packages.length === 0) return rest;
  return { ...rest, pinned: await resolvePins(ctx, spec) };
}
