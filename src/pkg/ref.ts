// Package references in specs (`name:version` or `name:tag`) and what apply pins them to.

import { PackageNamePattern, PackageVersionPattern } from "./manifest.ts";

/** A parsed `name:versionOrTag`. */
export interface PackageRef {
  name: string;
  /** A version or a tag; apply tries versions first. */
  ref: string;
}

/** Parses `name:versionOrTag` (a bare name means the tag "latest"), or says what is wrong. */
export function parsePackageRef(text: string): PackageRef | { error: string } {
  const i = text.indexOf(":");
  const name = i < 0 ? text : text.slice(0, i);
  const ref = i < 0 ? "latest" : text.slice(i + 1);
  if (!PackageNamePattern.test(name)) return { error: `package name "${name}" must be lower-case letters, digits, ".", "_" or "-"` };
  if (!PackageVersionPattern.test(ref)) return { error: `version or tag "${ref}" must be letters, digits, ".", "_" or "-"` };
  return { name, ref };
}

/** `TIFFIN_PKG_<NAME>`: the name upper-cased, anything but letters, digits and _ made _. */
export function packageEnvVar(name: string): string {
  return `TIFFIN_PKG_${name.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}`;
}
