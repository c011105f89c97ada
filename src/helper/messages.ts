// Parsing and encoding of the newline-delimited JSON spoken on helper.sock (see protocol.ts).
import type { AgentMessage, HelperMessage } from "./protocol.ts";

/** Parses one line from an agent; null when it is not a valid AgentMessage. */
export function parseAgentMessage(line: string): AgentMessage | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const m = v as Record<string, unknown>;
  switch (m.type) {
    case "ping": {
      if (m.awayUntil !== undefined && !(typeof m.awayUntil === "number" && Number.isFinite(m.awayUntil))) return null;
      if (m.seq !== undefined && !Number.isSafeInteger(m.seq)) return null;
      return { type: "ping", ...(m.awayUntil !== undefined ? { awayUntil: m.awayUntil as number } : {}), ...(m.seq !== undefined ? { seq: m.seq as number } : {}) };
    }
    case "stop":
      if (typeof m.reason !== "string") return null;
      return m.deliberate === true ? { type: "stop", reason: m.reason, deliberate: true } : { type: "stop", reason: m.reason };
    case "ack":
      return { type: "ack" };
    default:
      return null;
  }
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
