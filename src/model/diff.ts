// A structural diff of two JSON values, for `tiffin plan` and `tiffin history --diff`. Pure: the server
// computes it over stored specs and the CLI prints it, so both see the same lines.

/** One line of a plan's diff. */
export interface DiffLine {
  /** Field path, e.g. `resources.memoryMiB`, `command[1]`, `env.FOO`, `files["conf/app.json"]`. */
  path: string;
  op: "add" | "remove" | "change";
  /** The value before (absent for `add`). */
  before?: unknown;
  /** The value after (absent for `remove`). */
  after?: unknown;
}

type Segment = string | number;

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Formats a field path the way users write it: `jobs[0].env.FOO`, `files["a/b.txt"]`. */
export function formatPath(segments: readonly PropertyKey[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (typeof s === "string" && identifier.test(s)) out += out === "" ? s : `.${s}`;
    else out += `[${JSON.stringify(String(s))}]`;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return typeof v === "object" && v !== null;
}

function entries(v: Record<string, unknown> | unknown[]): [Segment, unknown][] {
  return Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
}

/** Deep equality of JSON values (key order ignored). */
function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => k in b && equal(a[k], b[k]));
  }
  return false;
}

// A container appearing or disappearing is shown leaf by leaf, so a new job's plan lists every field.
function expand(path: Segment[], v: unknown, op: "add" | "remove", out: DiffLine[]): void {
  if (isContainer(v) && entries(v).length > 0) {
    for (const [k, x] of entries(v)) expand([...path, k], x, op, out);
    return;
  }
  const p = formatPath(path);
  out.push(op === "add" ? { path: p, op, before: undefined, after: v } : { path: p, op, before: v, after: undefined });
}

function walk(path: Segment[], a: unknown, b: unknown, out: DiffLine[]): void {
  if (equal(a, b)) return;
  if (a === undefined) return expand(path, b, "add", out);
  if (b === undefined) return expand(path, a, "remove", out);
  const bothRecords = isRecord(a) && isRecord(b);
  const bothArrays = Array.isArray(a) && Array.isArray(b);
  if (bothRecords || bothArrays) {
    const keys = new Set<Segment>([...entries(a).map(([k]) => k), ...entries(b).map(([k]) => k)]);
    for (const k of keys) walk([...path, k], (a as Record<Segment, unknown>)[k], (b as Record<Segment, unknown>)[k], out);
    return;
  }
  // null <-> object (e.g. `health`): list the object's leaves when it has any, else one change line.
  if (a === null && isContainer(b) && entries(b).length > 0) return expand(path, b, "add", out);
  if (b === null && isContainer(a) && entries(a).length > 0) return expand(path, a, "remove", out);
  out.push({ path: formatPath(path), op: "change", before: a, after: b });
}

/**
 * The differences between two JSON values, leaf by leaf, in the order fields appear (before's keys
 * first). `before` may be `null`/`undefined` for something new: every field of `after` is an add.
 */
export function diffJson(before: unknown, after: unknown): DiffLine[] {
  const out: DiffLine[] = [];
  walk([], before ?? undefined, after ?? undefined, out);
  return out;
}

function show(v: unknown): string {
  return v === undefined ? "(none)" : JSON.stringify(v);
}

/** Readable text for a diff: `+ path = value`, `- path = value`, `~ path = before -> after`, one per line. */
export function formatDiff(lines: readonly DiffLine[]): string {
  if (lines.length === 0) return "(no changes)";
  return lines
    .map((l) => {
      const path = l.path === "" ? "(root)" : l.path;
      switch (l.op) {
        case "add":
          return `+ ${path} = ${show(l.after)}`;
        case "remove":
          return `- ${path} = ${show(l.before)}`;
        case "change":
          return `~ ${path} = ${show(l.before)} -> ${show(l.after)}`;
      }
    })
    .join("\n");
}
