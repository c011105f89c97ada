// Resolving a spec's secret references at plan and apply: each name to the secret's current version
// (`secretVersions`), so the stored job version's hash covers the version and a new value is a new
// job version, rolled out like any other. An unknown secret is a 422 naming every field that uses it.
// Pure over the mirror's secrets.

import { ErrorCodes, formatPath, TiffinError } from "../../model/index.ts";
import type { JobSpec, Problem, SecretRecord } from "../../model/index.ts";

/** Every `ns/name` the spec uses, each with the field paths that use it. */
export function secretUses(spec: JobSpec): Map<string, string[]> {
  const uses = new Map<string, string[]>();
  const add = (name: string, path: string): void => void uses.set(name, [...(uses.get(name) ?? []), path]);
  for (const [k, name] of Object.entries(spec.secretEnv ?? {})) add(name, formatPath(["env", k]));
  for (const [p, name] of Object.entries(spec.secretFiles ?? {})) add(name, formatPath(["secretFiles", p]));
  return uses;
}

/** The spec with `secretVersions` set from `secrets` (by `ns/name`); absent when it uses none. Throws
 * TIFFIN_SPEC_INVALID listing each field whose secret does not exist. */
export function pinSecrets(spec: JobSpec, secrets: ReadonlyMap<string, { value: SecretRecord }>): JobSpec {
  const { secretVersions: _ignored, ...rest } = spec;
  const uses = secretUses(spec);
  if (uses.size === 0) return rest;
  const problems: Problem[] = [];
  const versions: Record<string, number> = {};
  for (const [name, paths] of [...uses].sort(([a], [b]) => a.localeCompare(b))) {
    const rec = secrets.get(name)?.value;
    if (rec) versions[name] = rec.version;
    else for (const path of paths) problems.push({ file: null, path, message: `secret ${name} does not exist`, value: JSON.stringify({ secret: name }) });
  }
  if (problems.length > 0) {
    throw new TiffinError(ErrorCodes.SpecInvalid, `job ${spec.name} uses ${problems.length === 1 ? "a secret that does" : `${problems.length} secrets that do`} not exist`, {
      hint: "set it first: tiffin secret set default/NAME < FILE (`tiffin secret list` shows the secrets)",
      problems,
    });
  }
  return { ...rest, secretVersions: versions };
}
