// Rewriting one job's `resources.cpu` and `resources.memory` in the user's own spec file, as a minimal
// text edit (`tiffin recommend --write`): the rest of the file, comments and formatting included, is
// left byte for byte. Pure (text in, text out). TypeScript/JavaScript and JSON: the job is the object
// literal with `name: "<job>"`, and its `resources` must be an object literal (`resources: {...}`) whose
// `cpu`/`memory` are literals or absent; anything else (a spread, a shared constant, a computed name)
// is refused with the reason, since no text edit can change it for this job alone. YAML: the job's
// document (or list item) with a block or flow `resources` map. The CLI loads the edited text and
// refuses it unless exactly these two figures of this one job changed (commands/recommend.ts).
import { isMap, isScalar, isSeq, parseAllDocuments } from "yaml";
import type { Document, YAMLMap } from "yaml";
import { formatSize } from "./decompile.ts";

/** The figures to write: cores, MiB (absent: left as they are). */
export interface ResourceEdit {
  cpu?: number;
  memoryMiB?: number;
}

/** The edited text, or why the file cannot be edited safely. */
export type EditOutcome = { ok: true; text: string } | { ok: false; reason: string };

/** The kind of spec file, by extension. */
export type SpecSyntax = "module" | "json" | "yaml";

const Code = 0;
const Quote = 1;
const Inside = 2;
const Comment = 3;

/** Marks every character: code, a string's quote, a string's inside, or a comment. Template literals count as strings. */
export function scanSource(text: string): Uint8Array {
  const kind = new Uint8Array(text.length);
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") kind[i++] = Comment;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end + 2;
      while (i < stop) kind[i++] = Comment;
    } else if (c === '"' || c === "'" || c === "`") {
      kind[i++] = Quote;
      while (i < text.length && text[i] !== c) {
        if (text[i] === "\\") kind[i++] = Inside;
        if (i < text.length) kind[i++] = Inside;
      }
      if (i < text.length) kind[i++] = Quote;
    } else {
      kind[i++] = Code;
    }
  }
  return kind;
}

const opens = new Set(["{", "[", "("]);
const closes = new Set(["}", "]", ")"]);

/** The index of the bracket closing the one at `open`, or -1. */
function closing(text: string, kind: Uint8Array, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (kind[i] !== Code) continue;
    if (opens.has(text[i]!)) depth++;
    else if (closes.has(text[i]!) && --depth === 0) return i;
  }
  return -1;
}

/** The `{` of the object literal that directly holds position `at`, or -1. */
function enclosingBrace(text: string, kind: Uint8Array, at: number): number {
  let depth = 0;
  for (let i = at - 1; i >= 0; i--) {
    if (kind[i] !== Code) continue;
    if (closes.has(text[i]!)) depth++;
    else if (opens.has(text[i]!)) {
      if (depth === 0) return text[i] === "{" ? i : -1;
      depth--;
    }
  }
  return -1;
}

interface Prop {
  /** Where the key starts, and where its value starts and ends (exclusive, trimmed). */
  key: number;
  value: number;
  end: number;
}

/** The property `name` directly inside the object literal `{` at `open`, or null. */
function propertyOf(text: string, kind: Uint8Array, open: number, name: string): Prop | null {
  const close = closing(text, kind, open);
  const re = new RegExp(`(?:\\b${name}\\b|"${name}"|'${name}')\\s*:`, "g");
  re.lastIndex = open + 1;
  for (let m = re.exec(text); m !== null && m.index < close; m = re.exec(text)) {
    const k = kind[m.index];
    if (k !== Code && k !== Quote) continue;
    if (enclosingBrace(text, kind, m.index) !== open) continue;
    let value = m.index + m[0].length;
    while (/\s/.test(text[value] ?? "")) value++;
    // The value ends at the next `,` or `}` of this object's own level.
    let end = value;
    let depth = 0;
    for (; end < close; end++) {
      if (kind[end] !== Code) continue;
      const c = text[end]!;
      if (opens.has(c)) depth++;
      else if (closes.has(c)) depth--;
      else if (c === "," && depth === 0) break;
    }
    while (end > value && (/\s/.test(text[end - 1]!) || kind[end - 1] === Comment)) end--;
    return { key: m.index, value, end };
  }
  return null;
}

/** The job object literals named `job` (`name: "job"` as a literal). */
function jobObjects(text: string, kind: Uint8Array, job: string): number[] {
  const out: number[] = [];
  const re = /(?:\bname\b|"name"|'name')\s*:\s*(["'`])([^"'`\\\n]*)\1/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const k = kind[m.index];
    if ((k !== Code && k !== Quote) || m[2] !== job) continue;
    const open = enclosingBrace(text, kind, m.index);
    if (open >= 0) out.push(open);
  }
  return out;
}

const literal = /^(?:\d+(?:\.\d+)?|(["'`])[^"'`\\$]*\1)$/;

/** The text of a value: a number where the user wrote a number, else a string in the user's quotes. */
function valueText(old: string | null, field: "cpu" | "memory", to: number, quote: string): string {
  if (field === "cpu") return String(to);
  if (old !== null && /^\d+$/.test(old)) return String(to);
  const q = old !== null && /^["'`]/.test(old) ? old[0]! : quote;
  return `${q}${formatSize(to)}${q}`;
}

/** Rewrites `resources.cpu`/`memory` of job `job` in a TypeScript, JavaScript or JSON spec. */
export function editModuleResources(text: string, job: string, edit: ResourceEdit, syntax: "module" | "json"): EditOutcome {
  const kind = scanSource(text);
  // A label or env value may also read name: "web": when several literals match, the job is the one
  // that also has a `command` of its own.
  const named = jobObjects(text, kind, job);
  const jobs = named.length > 1 ? named.filter((o) => propertyOf(text, kind, o, "command") !== null) : named;
  if (named.length === 0) return { ok: false, reason: `no object literal with name: "${job}" (the job's name must be written as a literal in this file)` };
  if (jobs.length !== 1) return { ok: false, reason: `${named.length} object literals have name: "${job}"; cannot tell which one is the job` };
  const res = propertyOf(text, kind, jobs[0]!, "resources");
  if (res === null) return { ok: false, reason: `job "${job}" has no resources: {...} of its own here (they come from elsewhere, e.g. a spread of shared defaults); add resources: { cpu, memory } to the job and run again` };
  if (text[res.value] !== "{") return { ok: false, reason: `resources of job "${job}" is not an object literal (${text.slice(res.value, res.end).slice(0, 60)}); write it as resources: { cpu, memory, ... } and run again` };
  const open = res.value;
  const close = closing(text, kind, open);
  const quoteKeys = syntax === "json" || /^["']/.test(text.slice(open + 1).trimStart());
  const quote = syntax === "json" ? '"' : (/["']/.exec(text.slice(open, close))?.[0] ?? '"');
  const splices: { at: number; end: number; text: string }[] = [];
  const inserts: string[] = [];
  for (const [field, to] of [["cpu", edit.cpu], ["memory", edit.memoryMiB]] as const) {
    if (to === undefined) continue;
    const p = propertyOf(text, kind, open, field);
    if (p === null) {
      inserts.push(`${quoteKeys ? `"${field}"` : field}: ${valueText(null, field, to, quote)}`);
      continue;
    }
    const old = text.slice(p.value, p.end);
    if (!literal.test(old)) return { ok: false, reason: `resources.${field} of job "${job}" is ${old.slice(0, 60)}, not a literal; set it to ${field === "cpu" ? to : formatSize(to)} yourself` };
    splices.push({ at: p.value, end: p.end, text: valueText(old, field, to, quote) });
  }
  if (inserts.length > 0) {
    let last = close - 1;
    while (last > open && (/\s/.test(text[last]!) || kind[last] === Comment)) last--;
    const inner = text.slice(open + 1, close);
    const needsComma = last > open && text[last] !== ",";
    if (inner.includes("\n")) {
      const indent = /\n([ \t]*)\S/.exec(inner)?.[1] ?? "  ";
      splices.push({ at: last + 1, end: last + 1, text: `${needsComma ? "," : ""}${inserts.map((s) => `\n${indent}${s}`).join(",")}${text[last] === "," ? "," : ""}` });
    } else {
      splices.push({ at: last + 1, end: last + 1, text: `${needsComma ? "," : ""} ${inserts.join(", ")}${last > open ? "" : " "}` });
    }
  }
  let out = text;
  for (const s of splices.sort((a, b) => b.at - a.at)) out = out.slice(0, s.at) + s.text + out.slice(s.end);
  return { ok: true, text: out };
}

/** Rewrites `resources.cpu`/`memory` of job `job` in a YAML spec (one job per document, or a list of jobs). */
export function editYamlResources(text: string, job: string, edit: ResourceEdit): EditOutcome {
  const docs = parseAllDocuments(text, { merge: true });
  if (!Array.isArray(docs)) return { ok: false, reason: "the file holds no YAML document" };
  const found: YAMLMap[] = [];
  const consider = (node: unknown): void => {
    if (isMap(node) && node.get("name") === job) found.push(node);
  };
  for (const d of docs as Document[]) {
    if (isSeq(d.contents)) for (const item of d.contents.items) consider(item);
    else consider(d.contents);
  }
  if (found.length !== 1) return { ok: false, reason: found.length === 0 ? `no job with name: ${job} in the file` : `${found.length} jobs are named ${job}` };
  const res = found[0]!.get("resources", true);
  if (!isMap(res)) return { ok: false, reason: `job "${job}" has no resources map of its own here (e.g. it comes from a <<: merge); add resources: { cpu, memory } to the job and run again` };
  const splices: { at: number; end: number; text: string }[] = [];
  const inserts: string[] = [];
  for (const [field, to] of [["cpu", edit.cpu], ["memory", edit.memoryMiB]] as const) {
    if (to === undefined) continue;
    const v = res.get(field, true);
    if (v === undefined) {
      inserts.push(`${field}: ${field === "cpu" ? to : formatSize(to)}`);
      continue;
    }
    if (!isScalar(v) || !v.range || (typeof v.value !== "number" && typeof v.value !== "string")) return { ok: false, reason: `resources.${field} of job "${job}" is not a plain value; set it to ${field === "cpu" ? to : formatSize(to)} yourself` };
    const old = text.slice(v.range[0], v.range[1]);
    const written = field === "cpu" || typeof v.value === "number" ? String(to) : /^["']/.test(old) ? `${old[0]}${formatSize(to)}${old[0]}` : formatSize(to);
    splices.push({ at: v.range[0], end: v.range[1], text: written });
  }
  if (inserts.length > 0) {
    const range = res.range;
    if (!range) return { ok: false, reason: `resources of job "${job}" has no position in the file` };
    if (res.flow) {
      let at = text.lastIndexOf("}", range[1]);
      while (at > range[0] + 1 && /\s/.test(text[at - 1]!)) at--;
      const empty = text[at - 1] === "{";
      splices.push({ at, end: at, text: `${empty ? " " : ", "}${inserts.join(", ")}${empty ? " " : ""}` });
    } else {
      const first = res.items[0]?.key;
      const keyStart = isScalar(first) && first.range ? first.range[0] : range[0];
      const indent = " ".repeat(keyStart - text.lastIndexOf("\n", keyStart - 1) - 1);
      // After the map's last line (its range ends after the trailing newline of its last value).
      let at = range[1];
      while (at > 0 && text[at - 1] === "\n" && text[at - 2] === "\n") at--;
      const prefix = at > 0 && text[at - 1] !== "\n" ? "\n" : "";
      splices.push({ at, end: at, text: `${prefix}${inserts.map((s) => `${indent}${s}\n`).join("")}` });
    }
  }
  let out = text;
  for (const s of splices.sort((a, b) => b.at - a.at)) out = out.slice(0, s.at) + s.text + out.slice(s.end);
  return { ok: true, text: out };
}

/** Rewrites job `job`'s `resources.cpu`/`memory` in a spec file's text of the given syntax. */
export function editResources(text: string, syntax: SpecSyntax, job: string, edit: ResourceEdit): EditOutcome {
  return syntax === "yaml" ? editYamlResources(text, job, edit) : editModuleResources(text, job, edit, syntax);
}
