// The package manifest: what a package holds, piece by piece. Its sha256 (over canonical JSON) is the
// package id, so an id names exactly one set of bytes and a pinned job version always runs them.

import { createHash } from "node:crypto";
import fs from "node:fs";
import { z } from "zod";
import { formatPath, readJsonAs } from "../model/index.ts";
import type { Assert, TypesMatch } from "../model/index.ts";

/** Bytes per piece. 4 MiB, as Kraken uses: large enough that a 1 GiB tree is ~256 pieces (cheap to
 * list, hash-check and ask "which do you lack" in one request), small enough that one changed file
 * re-uploads at most a few MiB beyond itself and a peer can serve a piece in well under a second. */
export const PieceSize = 4 * 1024 * 1024;

/** One regular file: its bytes are the concatenation of its pieces (each PieceSize but the last). */
export interface ManifestFile {
  /** Relative POSIX path inside the package. */
  path: string;
  /** Permission bits, e.g. 0o755. */
  mode: number;
  size: number;
  /** sha256 hex of each piece, in order. */
  pieces: string[];
}

/** One symbolic link, kept as a link (never followed at build time). */
export interface ManifestSymlink {
  path: string;
  target: string;
}

/** A package's manifest. */
export interface Manifest {
  format: 1;
  name: string;
  version: string;
  pieceSize: number;
  /** Directories, so empty ones survive (relative paths). */
  dirs: string[];
  files: ManifestFile[];
  symlinks: ManifestSymlink[];
  totalSize: number;
  createdAt: number;
  /** What built it, e.g. "tiffin pkg build (node v24.1.0)". */
  builder: string;
  /** The file `tiffin pkg run` executes (relative path of an executable file or symlink). Optional and
   * left out of the canonical text when absent, so manifests from before it keep their ids. */
  entrypoint?: string;
}

/** Package names: what the spec's `name:version` can name and a state key can hold. */
export const PackageNamePattern = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** Versions and tags. */
export const PackageVersionPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** A sha256 in hex. */
export const Sha256Pattern = /^[0-9a-f]{64}$/;

/** sha256 hex of bytes. */
export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The canonical text of a manifest (fixed key order), the bytes its id hashes. */
export function manifestText(m: Manifest): string {
  return JSON.stringify({
    format: m.format,
    name: m.name,
    version: m.version,
    pieceSize: m.pieceSize,
    dirs: m.dirs,
    files: m.files.map((f) => ({ path: f.path, mode: f.mode, size: f.size, pieces: f.pieces })),
    symlinks: m.symlinks.map((s) => ({ path: s.path, target: s.target })),
    totalSize: m.totalSize,
    createdAt: m.createdAt,
    builder: m.builder,
    ...(m.entrypoint !== undefined ? { entrypoint: m.entrypoint } : {}),
  });
}

/** The package id: sha256 of the manifest's canonical text. */
export function packageId(m: Manifest): string {
  return sha256(manifestText(m));
}

/** Every distinct piece a manifest needs. */
export function piecesOf(m: Manifest): string[] {
  return [...new Set(m.files.flatMap((f) => f.pieces))];
}

/** The manifest's shape (Manifest); the rules across fields are manifestProblem's. */
export const manifestSchema = z.object({
  format: z.literal(1),
  name: z.string().regex(PackageNamePattern),
  version: z.string().regex(PackageVersionPattern),
  pieceSize: z.literal(PieceSize),
  dirs: z.array(z.string()),
  files: z.array(z.object({ path: z.string(), mode: z.number().int(), size: z.number().int().min(0), pieces: z.array(z.string().regex(Sha256Pattern)) })),
  symlinks: z.array(z.object({ path: z.string(), target: z.string().min(1) })),
  totalSize: z.number(),
  createdAt: z.number(),
  builder: z.string(),
  entrypoint: z.string().exactOptional(),
});

/** Compile-time proof that manifestSchema is the Manifest type. */
export type ManifestSchemaCheck = Assert<TypesMatch<z.infer<typeof manifestSchema>, Manifest>>;

/** Why a value is not a well-formed manifest (its shape, then paths inside the tree, sizes that match
 * the pieces), or null. Checked before unpacking anything, since a manifest decides where files are written. */
export function manifestProblem(v: unknown): string | null {
  const r = manifestSchema.safeParse(v);
  if (!r.success) {
    const issue = r.error.issues[0];
    return issue ? `${formatPath(issue.path) || "manifest"}: ${issue.message}` : "not a manifest";
  }
  const m = r.data;
  let total = 0;
  const seen = new Set<string>();
  for (const p of [...m.dirs, ...m.files.map((f) => f.path), ...m.symlinks.map((s) => s.path)]) {
    if (!safePath(p)) return `path ${JSON.stringify(p)} must be relative and stay inside the package`;
    if (seen.has(p)) return `path ${p} appears twice`;
    seen.add(p);
  }
  for (const f of m.files) {
    if (f.pieces.length !== Math.ceil(f.size / PieceSize)) return `file ${f.path}: needs ${Math.ceil(f.size / PieceSize)} sha256 pieces`;
    total += f.size;
  }
  if (m.totalSize !== total) return `totalSize ${m.totalSize} is not the sum of file sizes (${total})`;
  if (m.entrypoint !== undefined) {
    const e = m.entrypoint;
    const file = m.files.find((f) => f.path === e);
    if (!file && !m.symlinks.some((s) => s.path === e)) return `entrypoint ${JSON.stringify(e)} is not a file of the package`;
    if (file && (file.mode & 0o111) === 0) return `entrypoint ${e} is not executable (mode ${file.mode.toString(8)})`;
  }
  return null;
}

/** True when `v` is a well-formed manifest (manifestProblem finds nothing). */
export function isManifest(v: unknown): v is Manifest {
  return manifestProblem(v) === null;
}

function safePath(p: string): boolean {
  return p !== "" && !p.startsWith("/") && !p.split("/").some((s) => s === "" || s === "." || s === "..");
}

/** A manifest saved as JSON (an agent's cache), or null if the file is missing, not JSON or not of
 * the manifest's shape (the rules across fields are still manifestProblem's). */
export function readManifestSync(file: string): Manifest | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
  return readJsonAs(manifestSchema, text);
}
