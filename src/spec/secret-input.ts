// A reference to a secret in a spec: `secret("db")` in TypeScript, `{ secret: "db" }` in JSON and
// YAML. The name is `NS/NAME` or `NAME` (the default namespace); it compiles to `default/NAME`, and
// the server resolves it to the secret's current version at plan and apply (an unknown one is an
// error at its field path). The value never enters the spec. The name is checked by crossChecks
// (checks.ts: inside the env union, zod would report only "expected a string or secret()").

import { z } from "zod";
import { DefaultNamespace, formatSecretName, parseSecretName } from "../model/index.ts";

/** `{ secret: "NAME" }`, its name checked apart (secretNameProblem). */
export const secretRefInput = z.strictObject({ secret: z.string() });

/** What is wrong with a secret name written in a spec, or null. */
export function secretNameProblem(text: string): string | null {
  const s = parseSecretName(text);
  if (typeof s === "string") return `the secret name ${s}`;
  return null;
}

/** `NAME` -> `NS/NAME` with the job's namespace `ns` (a name secretNameProblem passed); `NS/NAME` as written
 * (the server refuses a secret of another namespace than the job's at apply). */
export function fullSecretName(text: string, ns: string = DefaultNamespace): string {
  const s = parseSecretName(text);
  if (typeof s === "string") return text;
  return text.includes("/") ? formatSecretName(s) : formatSecretName({ ...s, ns });
}
