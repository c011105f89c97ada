// Request and response helpers over node:http: JSON bodies with a size limit and parse errors that
// say where, error bodies per ApiErrorBody, and server-sent event streams with keep-alive comments.

import { STATUS_CODES } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { promisify } from "node:util";
import zlib from "node:zlib";
import type { ApiErrorBody } from "../../api/types.ts";
import { ErrorCodes, MaxRequestBytes, TiffinError } from "../../model/index.ts";
import type { ErrorCode } from "../../model/index.ts";

/** Largest accepted request body (the CLI checks a job spec against the same number). */
export const MaxBodyBytes = MaxRequestBytes;
/** How often an idle event stream gets a comment, so proxies and clients see it is alive. */
export const SseKeepAliveMs = 15_000;
const gunzip = promisify(zlib.gunzip);
/** Past this much discarded body the connection is dropped instead of drained. */
const MaxDrainBytes = 64 << 20;

/** HTTP status of each error code. */
export function statusOf(code: ErrorCode): number {
  switch (code) {
    case ErrorCodes.SpecInvalid:
      return 422;
    case ErrorCodes.Unauthorized:
      return 401;
    case ErrorCodes.Forbidden:
      return 403;
    case ErrorCodes.NotFound:
      return 404;
    case ErrorCodes.TooLarge:
      return 413;
    case ErrorCodes.Conflict:
      return 409;
    case ErrorCodes.Unavailable:
      return 503;
    case ErrorCodes.Timeout:
      return 504;
    default:
      return 400;
  }
}

/** Reads a JSON body (at most MaxBodyBytes); rejects with TiffinError TOO_LARGE or BAD_REQUEST. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers["content-type"];
  if (type !== undefined && !/^application\/json\b/i.test(type)) {
    req.resume();
    throw new TiffinError(ErrorCodes.BadRequest, `request body must be JSON, got content-type ${type}`, { hint: "send Content-Type: application/json" });
  }
  const declared = Number(req.headers["content-length"] ?? NaN);
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = declared > MaxBodyBytes;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MaxBodyBytes) tooLarge = true;
    if (tooLarge) {
      if (size > MaxDrainBytes) {
        req.destroy();
        break;
      }
      continue;
    }
    chunks.push(chunk);
  }
  if (tooLarge) {
    throw new TiffinError(ErrorCodes.TooLarge, `request body is larger than ${MaxBodyBytes} bytes (1 MiB)`, {
      hint: "split the request; a job spec's files should hold configuration, not data (use packages)",
    });
  }
  const text = (await decoded(Buffer.concat(chunks), req.headers["content-encoding"])).toString("utf8");
  if (text.trim() === "") throw new TiffinError(ErrorCodes.BadRequest, "request body is empty", { hint: "send a JSON body" });
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new TiffinError(ErrorCodes.BadRequest, `request body is not valid JSON: ${whereParseFailed(text, err)}`, { hint: "check the JSON syntax at that place" });
  }
}

/** A request body as sent, or gunzipped for `Content-Encoding: gzip` (agents' metrics reports), at
 * most MaxBodyBytes once inflated: a gzip bomb stops there, as a TOO_LARGE. */
async function decoded(body: Buffer, encoding: string | undefined): Promise<Buffer> {
  const coding = (encoding ?? "identity").trim().toLowerCase();
  if (coding === "identity" || coding === "") return body;
  if (coding !== "gzip") {
    throw new TiffinError(ErrorCodes.BadRequest, `request body has content-encoding "${coding}", which this server does not read`, { hint: "send it as it is, or gzip-compressed (Content-Encoding: gzip)" });
  }
  try {
    return await gunzip(body, { maxOutputLength: MaxBodyBytes });
  } catch (err) {
    if ((err as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new TiffinError(ErrorCodes.TooLarge, `request body is larger than ${MaxBodyBytes} bytes (1 MiB) once decompressed`, { hint: "split the request" });
    }
    throw new TiffinError(ErrorCodes.BadRequest, `request body is not valid gzip: ${err instanceof Error ? err.message : String(err)}`, { hint: "send it gzip-compressed whole, or without Content-Encoding" });
  }
}

/** What a JSON value is, in words ("null", "an array", "a string"...), for error messages. */
export function jsonKindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return typeof v === "string" ? "a string" : typeof v === "number" ? "a number" : typeof v === "boolean" ? "a boolean" : typeof v;
}

/** Reads a JSON body that must be an object (`shape` describes it for the error): null, arrays and
 * scalars are a BAD_REQUEST here, so no handler reads fields of what is not an object. */
export async function readJsonObject(req: IncomingMessage, shape: string): Promise<Record<string, unknown>> {
  const body = await readJson(req);
  if (typeof body === "object" && body !== null && !Array.isArray(body)) return body as Record<string, unknown>;
  throw new TiffinError(ErrorCodes.BadRequest, `request body must be a JSON object, got ${jsonKindOf(body)}`, { hint: `send ${shape}` });
}

/** "Unexpected token } at line 3 column 5" from a JSON.parse error. */
export function whereParseFailed(text: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const m = /position (\d+)/.exec(msg);
  const pos = m ? Number(m[1]) : /end of JSON|Unterminated/i.test(msg) ? text.length : null;
  const reason = msg.replace(/\s*\(line \d+ column \d+\)\s*$/, "").replace(/ in JSON at position \d+.*$/, "");
  if (pos === null) return reason;
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  const column = pos - before.lastIndexOf("\n");
  return `${reason} at line ${line} column ${column} (byte ${pos})`;
}

/** Sends a JSON body. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Sends an error as ApiErrorBody. */
export function sendError(res: ServerResponse, err: TiffinError, status = statusOf(err.code)): void {
  const body: ApiErrorBody = { error: { code: err.code, message: err.message, hint: err.hint, problems: err.problems } };
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, body);
}

/** Answers an upgrade request that is refused with a plain HTTP error response, and closes the socket. */
export function sendSocketError(socket: Duplex, err: TiffinError, status = statusOf(err.code)): void {
  const body = JSON.stringify({ error: { code: err.code, message: err.message, hint: err.hint, problems: err.problems } } satisfies ApiErrorBody);
  if (!socket.writable) return void socket.destroy();
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

/** An open text/event-stream response. */
export interface SseStream {
  send(event: string, data: unknown, id?: number): void;
  /** Writes frames made by `sseFrame` in one write (a batch of events costs one socket write). */
  write(frames: string): void;
  /** Ends the stream. */
  close(): void;
  /** Called once when the stream ends (client gone, or close()). */
  onClose(fn: () => void): void;
}

/** One event's frame: `json` is its data, already serialized (a caller sending one object to many
 * streams serializes it once). */
export function sseFrame(event: string, json: string, id?: number): string {
  return `event: ${event}\n${id === undefined ? "" : `id: ${id}\n`}data: ${json}\n\n`;
}

/** Starts an event stream on `res`, with a keep-alive comment every SseKeepAliveMs. */
export function startSse(req: IncomingMessage, res: ServerResponse, keepAliveMs = SseKeepAliveMs): SseStream {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" });
  res.flushHeaders();
  res.write(": tiffin\n\n");
  const closers: (() => void)[] = [];
  let closed = false;
  const timer = setInterval(() => res.write(": keep-alive\n\n"), keepAliveMs);
  timer.unref();
  const finish = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    for (const fn of closers) fn();
  };
  req.on("close", finish);
  res.on("close", finish);
  return {
    send(event, data, id) {
      if (closed) return;
      res.write(sseFrame(event, JSON.stringify(data), id));
    },
    write(frames) {
      if (closed || frames === "") return;
      res.write(frames);
    },
    close() {
      finish();
      res.end();
    },
    onClose(fn) {
      if (closed) fn();
      else closers.push(fn);
    },
  };
}
