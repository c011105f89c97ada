// Reading a JSON text that came from outside the process (a file, a child process, a peer) as a
// declared shape: parsed, then checked by the shape's zod schema, so no reader claims a type by a cast
// (src/server/no-casts-src.test.ts). Pure.
import type { z } from "zod";

/** `text` as `schema`'s type, or null when it is not JSON or not of that shape. */
export function readJsonAs<T>(schema: z.ZodType<T>, text: string): T | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  const r = schema.safeParse(v);
  return r.success ? r.data : null;
}
