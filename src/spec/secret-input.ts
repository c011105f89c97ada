// A reference to a secret in a spec: `secret("db")` in TypeScript, `{ secret: "db" }` in JSON and
// YAML. The name is `NS/NAME` or `NAME` (the default namespace); it compiles to `default/NAME`, and
// the server resolves it to the secret's current version at plan and apply (an unknown one is an
// error at its field path). The value never enters the spec.

import { z } from "zod";
import { DefaultNamespace, formatSecretName, parseSecretName } from "../model/index.ts";

/** `{ secret: "NAME" }` -> `{ secret: "default/NAME" }`. */
export const secretRefInput = z
  .strictObject({ secret: z.string() })
  .transform((v, ctx) => {
    const s = parseSecretName(v.secret);
    if (typeof s === "string") {
      ctx.addIssue({ code: "custom", message: `the secret name ${s}`, path: ["secret"] });
      return z.NEVER;
    }
    if (s.ns !== DefaultNamespace) {
      ctx.addIssue({ code: "custom", message: `secret "${v.secret}": there is only the namespace "${DefaultNamespace}" yet`, path: ["secret"] });
      return z.NEVER;
    }
    return { secret: formatSecretName(s) };
  });
