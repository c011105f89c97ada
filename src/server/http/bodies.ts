// Request bodies read through schemas: a body that does not fit is a BAD_REQUEST whose message and
// hint the route chooses, with every problem (path, what, the value sent) from the schema.
import type { z } from "zod";
import { ErrorCodes, TiffinError } from "../../model/index.ts";
import { issuesToProblems } from "../../spec/problems.ts";

/** `body` as `schema` reads it, or a BAD_REQUEST with `message` (text, or made from the parsed issues), `hint` and the problems. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, message: string | ((problems: number) => string), hint: string): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const problems = issuesToProblems(r.error.issues, body, [], null);
  throw new TiffinError(ErrorCodes.BadRequest, typeof message === "string" ? message : message(problems.length), { hint, problems });
}
