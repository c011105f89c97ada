// How the API client tells failures apart: an error response becomes the server's TiffinError, a
// network failure TIFFIN_UNAVAILABLE, and failures another server may not have (unreachable, timed
// out, 503/504) are marked so a call moves on to the next server. Browser-safe.

import { z } from "zod";
import { ErrorCodes, TiffinError } from "../model/errors.ts";
import type { ErrorCode, Problem } from "../model/errors.ts";
import type { Assert, TypesMatch } from "../model/index.ts";
import { WatchExpiredCode, WatchExpiredError } from "./watch-types.ts";

/** Failures another server may not have: unreachable, no answer in time, or 503/504 (the server
 * cannot reach its store). Other errors (a bad spec, a 404) would be the same everywhere. */
const serverFailures = new WeakSet<Error>();

export function failedServer(err: TiffinError): TiffinError {
  serverFailures.add(err);
  return err;
}

export function serverFailed(err: unknown): boolean {
  return err instanceof Error && serverFailures.has(err);
}

/** Turns an error response into the server's TiffinError (same code, message, hint, problems), or a
 * WatchExpiredError for the watch's 410. */
export async function responseError(res: Response, method: string, path: string): Promise<TiffinError | WatchExpiredError> {
  const text = await res.text().catch(() => "");
  try {
    const r = errorBodySchema.safeParse(JSON.parse(text));
    const body = r.success ? r.data : null;
    const e = body?.error;
    // The watch's own 410 (./watch-types.ts): its code is not one of the model's.
    if (body && e && e.code === WatchExpiredCode && body.compactRevision !== undefined) {
      return new WatchExpiredError({ code: WatchExpiredCode, message: e.message, hint: e.hint ?? "", compactRevision: body.compactRevision });
    }
    if (e) {
      // A code this client does not know yet (a newer server's) passes through as it came.
      return new TiffinError(e.code as ErrorCode, e.message, { ...(e.hint ? { hint: e.hint } : {}), problems: e.problems.filter((p): p is Problem => problemSchema.safeParse(p).success) });
    }
  } catch {
    // not an ApiErrorBody: described below from the status
  }
  const code = res.status === 401 ? ErrorCodes.Unauthorized : res.status === 403 ? ErrorCodes.Forbidden : res.status === 404 ? ErrorCodes.NotFound : ErrorCodes.Unavailable;
  return new TiffinError(code, `${method} ${path} failed: HTTP ${res.status} ${res.statusText}`.trim(), {
    hint: "check that TIFFIN_ADDR / --addr points at a Tiffin server",
  });
}

const unreachableCodes = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ECONNRESET", "UND_ERR_SOCKET", "EPIPE"]);

/** Maps fetch's network failures (a TypeError whose cause carries the errno) to TiffinError. */
export function networkError(err: unknown, addr: string): unknown {
  if (err instanceof TiffinError) return err;
  if (err instanceof Error && err.name === "AbortError") return err;
  const code = errnoOf(err);
  if (code !== null && unreachableCodes.has(code)) {
    return new TiffinError(ErrorCodes.Unavailable, `cannot reach the Tiffin server at ${addr}`, {
      hint: "start one with `tiffin dev`, or set TIFFIN_ADDR / --addr",
    });
  }
  if (err instanceof TypeError && err.message === "fetch failed") {
    return new TiffinError(ErrorCodes.Unavailable, `cannot reach the Tiffin server at ${addr} (${String((err.cause as Error | undefined)?.message ?? err.message)})`, {
      hint: "start one with `tiffin dev`, or set TIFFIN_ADDR / --addr",
    });
  }
  return err;
}

function errnoOf(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const rec = e as { code?: unknown; errors?: unknown[]; cause?: unknown };
    if (typeof rec.code === "string") return rec.code;
    if (Array.isArray(rec.errors) && rec.errors.length > 0) {
      const first = errnoOf(rec.errors[0]);
      if (first) return first;
    }
    e = rec.cause;
  }
  return null;
}

/** One problem of an error body (the model's Problem). */
const problemSchema = z.object({ file: z.string().nullable(), path: z.string(), message: z.string(), value: z.string().nullable() });
/** Compile-time proof that problemSchema is the model's Problem. */
export type ProblemSchemaCheck = Assert<TypesMatch<z.infer<typeof problemSchema>, Problem>>;

/** `ApiErrorBody`, the body of every error response, as the server writes it (the OpenAPI document
 * shows this one; readers below are lenient forms of it). */
export const apiErrorBodySchema = z.object({
  error: z.object({
    code: z.string().meta({ description: "Stable code, e.g. TIFFIN_NOT_FOUND" }),
    message: z.string(),
    hint: z.string().nullable(),
    problems: z.array(problemSchema),
  }),
});

/** The part of an error body an agent reads: its code and message. */
export const errorAnswerSchema = z.object({ error: apiErrorBodySchema.shape.error.pick({ code: true, message: true }) });

/** An error response as read (ApiErrorBody, or the watch's 410 with its compactRevision): code and
 * message must be strings; a mistyped hint is dropped, and so is each problem not of its shape. */
const errorBodySchema = z.object({
  error: apiErrorBodySchema.shape.error.extend({
    hint: z.string().nullable().catch(null),
    problems: z.array(z.unknown()).catch([]),
  }),
  compactRevision: z.number().optional().catch(undefined),
});

/** The message of an error answer's text (ApiErrorBody), or null when the text is not one: what a
 * server relaying an agent's refusal (exec, logs) shows its own client. */
export function errorMessageOf(text: string): string | null {
  try {
    const r = errorAnswerSchema.safeParse(JSON.parse(text));
    return r.success ? r.data.error.message : null;
  } catch {
    return null;
  }
}
