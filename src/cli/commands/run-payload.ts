// The payload of `tiffin dispatch --payload-file FILE`: the file's text, checked here so a payload the
// server would refuse (too long, not text) is refused before anything is sent, with the file's name.

import { readFile } from "node:fs/promises";
import { MaxParamChars } from "../../model/index.ts";
import { usageError } from "../errors.ts";

/** Longest payload, in characters (a dispatch parameter's limit). */
export const MaxPayloadChars = MaxParamChars;

const count = (n: number): string => n.toLocaleString("en-US");

/** The payload a file's bytes give, or a usage error saying why they cannot be one (pure). */
export function payloadText(bytes: Uint8Array, file: string): string {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw usageError(`payload file ${file} is not UTF-8 text`, `the payload is handed to each task in its environment (TIFFIN_PARAM_PAYLOAD): encode binary data first, e.g. \`base64 ${file} > ${file}.b64\``);
  }
  if (text.includes("\0")) throw usageError(`payload file ${file} has a NUL byte`, "the payload travels in the environment, which cannot hold NUL: encode it first (base64)");
  if (text.length > MaxPayloadChars) {
    throw usageError(`payload file ${file} is ${count(text.length)} characters; a payload is at most ${count(MaxPayloadChars)} (64 KiB)`, "put larger inputs where the tasks can fetch them (a package, a URL) and pass their name as the payload");
  }
  return text;
}

/** Reads and checks a payload file. */
export async function readPayload(file: string): Promise<string> {
  const bytes = await readFile(file).catch((err: unknown) => {
    throw usageError(`cannot read payload file ${file}: ${(err as Error).message}`, "give a readable file: `tiffin dispatch JOB --payload-file input.json`");
  });
  return payloadText(bytes, file);
}
