// `tiffin pkg ...`: build, push, tag, list, history and remove packages. `pkg push DIR` builds and
// pushes in one step (building is a re-hash of the tree, so a separate build file would only add a
// step to forget); `pkg build DIR` alone shows what a push would send.

import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { PackageRecord, PackageSummary } from "../../api/types.ts";
import { ErrorCodes, TiffinError } from "../../model/errors.ts";
import type { Manifest } from "../../pkg/index.ts";
import { buildPackage, compressPiece, packageId, PieceStore, piecesOf } from "../../pkg/index.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { renderJson, renderTable } from "../table.ts";
import { registerRun } from "./pkg-run.ts";

/** The local piece store builds write to: $TIFFIN_PKG_CACHE, else ~/.cache/tiffin/pkg. */
export function localStore(env: Record<string, string | undefined>): PieceStore {
  return new PieceStore(env["TIFFIN_PKG_CACHE"] ?? path.join(env["HOME"] ?? os.homedir(), ".cache", "tiffin", "pkg"));
}

/** Options of build and push. */
export interface BuildArgs {
  dir: string;
  name: string;
  version?: string;
  /** The file `tiffin pkg run` executes, relative to `dir`. */
  entrypoint?: string;
  store: PieceStore;
  progress?: (line: string) => void;
}

/** Builds a package into the local store. */
export async function pkgBuildHandler(a: BuildArgs): Promise<{ id: string; manifest: Manifest }> {
  const manifest = await buildPackage({
    dir: a.dir,
    name: a.name,
    ...(a.version !== undefined ? { version: a.version } : {}),
    ...(a.entrypoint !== undefined ? { entrypoint: a.entrypoint } : {}),
    store: a.store,
    builder: `tiffin pkg build (node ${process.version})`,
    onProgress: (done, total) => a.progress?.(`building ${a.name}: ${mib(done)} / ${mib(total)}`),
  });
  return { id: packageId(manifest), manifest };
}

/** What a push did. */
export interface PushResult {
  package: PackageRecord;
  piecesTotal: number;
  piecesUploaded: number;
  /** Bytes of the pieces uploaded. */
  bytesUploaded: number;
  /** Bytes actually sent (pieces are zstd-compressed when it pays). */
  bytesOnWire: number;
}

/** Builds, uploads only the pieces the server lacks, then registers the manifest. */
export async function pkgPushHandler(client: ApiClient, a: BuildArgs): Promise<PushResult> {
  const { manifest } = await pkgBuildHandler(a);
  const all = piecesOf(manifest);
  const { missing } = await client.missingPieces(all);
  let bytes = 0;
  let wire = 0;
  for (const [i, h] of missing.entries()) {
    const data = await a.store.get(h);
    if (!data) throw new TiffinError(ErrorCodes.Conflict, `piece ${h} vanished from the local store ${a.store.dir} during the push`, { hint: "push again" });
    // Compressed on the wire when it pays (text, binaries); stored raw, hashed raw.
    const z = compressPiece(data);
    await client.uploadPiece(h, z ?? data, z ? "zstd" : null);
    bytes += data.length;
    wire += (z ?? data).length;
    a.progress?.(`pushing ${manifest.name}:${manifest.version}: ${i + 1}/${missing.length} pieces, ${mib(bytes)}`);
  }
  const rec = await client.registerPackage(manifest);
  return { package: rec, piecesTotal: all.length, piecesUploaded: missing.length, bytesUploaded: bytes, bytesOnWire: wire };
}

/** `name:version` split, or a usage error naming the argument. */
export function splitRef(text: string, what: string): { name: string; version: string } {
  const i = text.indexOf(":");
  if (i <= 0 || i === text.length - 1) throw new TiffinError(ErrorCodes.Usage, `expected ${what}, got "${text}"`, { hint: "e.g. `tiffin pkg rm web:1.2.0`" });
  return { name: text.slice(0, i), version: text.slice(i + 1) };
}

/** A table of package versions. */
export function renderPackages(ps: PackageSummary[]): string {
  if (ps.length === 0) return "no packages yet: `tiffin pkg push DIR --name NAME` creates one\n";
  return renderTable(
    ["name", "version", "id", "size", "pieces", "tags", "pinned by"],
    ps.map((p) => [p.name, p.version, p.id.slice(0, 12), mib(p.totalSize), p.pieces, p.tags.join(","), p.pinnedBy.join(",")]),
  );
}

function mib(n: number): string {
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Adds `pkg` and its subcommands. */
export function register(program: Command, ctx: CliContext): void {
  const pkg = program.command("pkg").description("build, push and manage content-addressed packages");
  const progress = (line: string): void => ctx.io.err(ctx.io.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
  const buildOpts = (c: Command): Command =>
    c.argument("<dir>", "directory to package").requiredOption("--name <name>", "package name").option("--version <version>", "version (default: a hash of the content)")
      .option("--entrypoint <path>", "file `tiffin pkg run` executes, relative to DIR (e.g. bin/tool)");

  jsonOption(buildOpts(pkg.command("build")).description("build a package into the local store and show its id")).action(
    async (dir: string, o: { name: string; version?: string; entrypoint?: string; json?: boolean }) => {
      const r = await pkgBuildHandler({ dir, name: o.name, ...(o.version ? { version: o.version } : {}), ...(o.entrypoint ? { entrypoint: o.entrypoint } : {}), store: localStore(ctx.io.env), progress });
      ctx.io.out(o.json ? renderJson(r) : `${r.manifest.name}:${r.manifest.version} ${r.id} (${r.manifest.files.length} file(s), ${mib(r.manifest.totalSize)}, ${piecesOf(r.manifest).length} pieces)\n`);
    },
  );
  jsonOption(buildOpts(pkg.command("push")).description("build a directory and upload the pieces the server lacks")).action(
    async (dir: string, o: { name: string; version?: string; entrypoint?: string; json?: boolean }) => {
      const r = await pkgPushHandler(ctx.client(), { dir, name: o.name, ...(o.version ? { version: o.version } : {}), ...(o.entrypoint ? { entrypoint: o.entrypoint } : {}), store: localStore(ctx.io.env), progress });
      const p = r.package;
      ctx.io.out(o.json ? renderJson(r) : `pushed ${p.name}:${p.version} ${p.id}: uploaded ${r.piecesUploaded} of ${r.piecesTotal} pieces (${mib(r.bytesUploaded)}, ${mib(r.bytesOnWire)} on the wire)\n`);
    },
  );
  jsonOption(pkg.command("tag").argument("<name:tag>").argument("<version>").description("point a tag at a version")).action(
    async (ref: string, version: string, o: { json?: boolean }) => {
      const { name, version: tag } = splitRef(ref, "NAME:TAG");
      const s = await ctx.client().tagPackage(name, tag, version);
      ctx.io.out(o.json ? renderJson(s) : `${name}:${tag} -> ${version}\n`);
    },
  );
  jsonOption(pkg.command("ls").description("list every package version")).action(async (o: { json?: boolean }) => {
    const ps = await ctx.client().packages();
    ctx.io.out(o.json ? renderJson(ps) : renderPackages(ps));
  });
  jsonOption(pkg.command("history").argument("<name>").description("versions of one package, oldest first")).action(async (name: string, o: { json?: boolean }) => {
    const ps = await ctx.client().packages(name);
    ctx.io.out(o.json ? renderJson(ps) : renderPackages(ps));
  });
  pkg
    .command("rm")
    .argument("<name:version>")
    .description("remove a package version (refused while a job version pins it)")
    .action(async (ref: string) => {
      const { name, version } = splitRef(ref, "NAME:VERSION");
      await ctx.client().removePackage(name, version);
      ctx.io.out(`removed ${name}:${version}\n`);
    });
  registerRun(pkg, ctx);
}
