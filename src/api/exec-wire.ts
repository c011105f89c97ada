// The interactive exec session on the wire (`tiffin exec` with stdin and, when asked, a terminal):
//   POST /v1/tasks/:job/:index/exec?command=A&command=B&tty=1&cols=80&rows=24&term=xterm&user=U
//   Connection: Upgrade, Upgrade: tiffin-exec.v1        -> 101 Switching Protocols
// then the socket carries JSON lines both ways: ExecInput from the client, ExecFrame (types.ts) back,
// the exit status last. The server passes the same bytes on to the agent (`POST /v1/exec/:attemptId`
// with the same query and upgrade) and only watches the frames for the audit log.
//
// Why an HTTP upgrade (Docker's attach and exec do the same, `Upgrade: tcp`) rather than a streaming
// request body with a streaming response: after the 101 the socket leaves HTTP, so the server's request
// timeout (300 s by default in node:http) does not cut a long shell, and proxies cannot buffer the
// request body. Not WebSocket: nothing here would use its framing, and node has no WebSocket server
// without a dependency; a browser dashboard would need one later.
// Everything in the session is in the query, not a body: the upgrade starts at the end of the headers.

import { z } from "zod";
import type { Assert, TypesMatch } from "../model/index.ts";
import type { ExecFrame, ExecRequest } from "./types.ts";

/** The `Upgrade` token of an exec session. */
export const execUpgradeProtocol = "tiffin-exec.v1";

/** What a client sends after the upgrade, one JSON line each (data in base64). */
export type ExecInput =
  | { type: "stdin"; data: string }
  /** No more input: closes the command's stdin (with a terminal: sends the EOF character, ^D). */
  | { type: "eof" }
  /** The client's terminal changed size. */
  | { type: "resize"; cols: number; rows: number }
  /** Without a terminal, the signal the client got (SIGINT on Ctrl-C) for the command. */
  | { type: "signal"; signal: string };

/** An exec session's request: the command, and the terminal when one is wanted. */
export interface ExecSessionRequest extends ExecRequest {
  /** A pseudo-terminal for the command (stdout and stderr both arrive as `stdout`). @default false */
  tty?: boolean;
  /** The client's terminal size at start; null when unknown (80x24 then). */
  cols?: number | null;
  rows?: number | null;
  /** The client's TERM, set inside when `tty`. */
  term?: string | null;
}

/** Encodes a session request as a query string (no leading `?`). */
export function execQuery(r: ExecSessionRequest, withUser = true): string {
  const q = new URLSearchParams();
  for (const a of r.command) q.append("command", a);
  if (r.tty) q.set("tty", "1");
  if (r.cols != null) q.set("cols", String(r.cols));
  if (r.rows != null) q.set("rows", String(r.rows));
  if (r.term != null && r.term !== "") q.set("term", r.term);
  if (withUser && r.user !== undefined) q.set("user", r.user);
  return q.toString();
}

/** Decodes a session request from a query, or says what is wrong with it. */
export function parseExecQuery(q: URLSearchParams): { ok: true; request: ExecSessionRequest & { cols: number | null; rows: number | null; term: string | null } } | { ok: false; problem: string } {
  const command = q.getAll("command");
  if (command.length === 0 || command[0] === "") return { ok: false, problem: "exec: command must be a non-empty list (query `command=...`, repeated)" };
  const size = (name: string): number | null | undefined => {
    const v = q.get(name);
    if (v === null) return null;
    const n = Number(v);
    return Number.isInteger(n) && n > 0 && n < 10_000 ? n : undefined;
  };
  const cols = size("cols");
  const rows = size("rows");
  if (cols === undefined || rows === undefined) return { ok: false, problem: `exec: cols and rows must be whole numbers from 1 to 9999, got ${q.get("cols")}x${q.get("rows")}` };
  const term = q.get("term");
  if (term !== null && !/^[A-Za-z0-9._+-]{1,64}$/.test(term)) return { ok: false, problem: `exec: term ${JSON.stringify(term)} is not a terminal type` };
  const user = q.get("user");
  return { ok: true, request: { command, tty: q.get("tty") === "1", cols, rows, term, ...(user === null ? {} : { user: user.slice(0, 200) }) } };
}

/** Splits a byte stream into complete lines (the last, unfinished one is kept for the next chunk). */
export class LineSplitter {
  #pending = "";
  readonly #decoder = new TextDecoder();

  /** The complete, non-empty lines `chunk` finished. */
  push(chunk: Uint8Array): string[] {
    this.#pending += this.#decoder.decode(chunk, { stream: true });
    const lines = this.#pending.split("\n");
    this.#pending = lines.pop() ?? "";
    return lines.filter((l) => l.trim() !== "");
  }
}

/** The body of `POST .../exec` (ExecRequest): checked by the server and again by the agent. */
export const execRequestSchema = z.object({
  command: z.array(z.string()).min(1).refine((c) => c[0] !== "", { error: "the program name must not be empty" }),
  user: z.string().exactOptional(),
});

/** The wire form of ExecInput (what the agent reads). */
export const execInputSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("stdin"), data: z.string() }),
  z.object({ type: z.literal("eof") }),
  z.object({ type: z.literal("resize"), cols: z.number().int().positive(), rows: z.number().int().positive() }),
  z.object({ type: z.literal("signal"), signal: z.string() }),
]);

/** The wire form of ExecFrame (what the server and the client read). */
export const execFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.enum(["stdout", "stderr"]), data: z.string() }),
  z.object({ type: z.literal("exit"), code: z.number().nullable(), signal: z.string().nullable() }),
  z.object({ type: z.literal("error"), message: z.string() }),
]);

/** Compile-time proof that the schemas are the documented types. */
export type ExecWireChecks = [
  Assert<TypesMatch<z.infer<typeof execInputSchema>, ExecInput>>,
  Assert<TypesMatch<z.infer<typeof execFrameSchema>, ExecFrame>>,
  Assert<TypesMatch<z.infer<typeof execRequestSchema>, ExecRequest>>,
];

function parseLine<T>(schema: z.ZodType<T>, line: string): T | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  const r = schema.safeParse(v);
  return r.success ? r.data : null;
}

/** One line as client input, or null when it is not one (not JSON, an unknown type, a field missing or mistyped). */
export function parseExecInput(line: string): ExecInput | null {
  return parseLine(execInputSchema, line);
}

/** One line as an output frame, or null when it is not one. */
export function parseExecFrame(line: string): ExecFrame | null {
  return parseLine(execFrameSchema, line);
}

/** One line as an output frame, or why it is not one ("signal: expected string"; "not JSON"). */
export function checkExecFrame(line: string): { ok: true; frame: ExecFrame } | { ok: false; why: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { ok: false, why: "not JSON" };
  }
  const r = execFrameSchema.safeParse(v);
  if (r.success) return { ok: true, frame: r.data };
  return { ok: false, why: r.error.issues.map((i) => `${i.path.join(".") || "(frame)"}: ${i.message}`).join("; ") };
}
