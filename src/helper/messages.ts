// Parsing and encoding of the newline-delimited JSON spoken on helper.sock (see protocol.ts).
import type { JsonChecker } from "../model/json-check.ts";
import { helperChecks } from "./checks.ts";
import type { AgentMessage, HelperMessage } from "./protocol.ts";

/** Parses one line from an agent; null when it is not a valid AgentMessage. */
export function parseAgentMessage(line: string): AgentMessage | null {
  return parseLine<AgentMessage>(helperChecks().agentMessage, line);
}

/** Parses one line from a helper; null when it is not a valid HelperMessage. */
export function parseHelperMessage(line: string): HelperMessage | null {
  return parseLine<HelperMessage>(helperChecks().helperMessage, line);
}

/** `check` is the derived checker of T's schema (protocol-schema.ts asserts the schema is T). */
function parseLine<T>(check: JsonChecker, line: string): T | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  const r = check(v);
  return r.ok ? (r.value as T) : null;
}

/** One message as a line. */
export function encodeMessage(m: HelperMessage | AgentMessage): string {
  return `${JSON.stringify(m)}\n`;
}

/** Splits a byte stream into lines; keeps the unfinished rest. Lines longer than `maxLine` are an error. */
export class LineSplitter {
  #rest = "";
  readonly #maxLine: number;
  constructor(maxLine = 64 * 1024) {
    this.#maxLine = maxLine;
  }
  /** Lines completed by `chunk`, or null when a line grew past the limit. */
  push(chunk: string): string[] | null {
    const parts = (this.#rest + chunk).split("\n");
    this.#rest = parts.pop() ?? "";
    if (this.#rest.length > this.#maxLine) return null;
    return parts.filter((l) => l.trim() !== "");
  }
}
