// `tiffin ca status|rotate` (issue 17, CA rotation; the server's side is src/server/tls/rotation.ts):
// `rotate` makes the cluster trust a new CA (made by the server, or --ca-cert/--ca-key) beside the
// old one and has every agent renew under it at once; `rotate --finish` switches the servers to the
// new CA and drops the old one once every live host has moved (`--force` past those that have not).
// `status` shows the CAs and how many hosts hold a certificate from each.

import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { CaFinished, CaRotated, CaStatus } from "../../api/ca-wire.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { usageError } from "../errors.ts";
import { outputFormat, outputOption, renderOutput } from "../output.ts";
import type { OutputOpts } from "../output.ts";
import { formatTime, renderJson, renderTable } from "../table.ts";

/** What `ca status` prints: the CAs with their roles and hosts, then who a finish waits for. */
export function renderCaStatus(s: CaStatus): string {
  const role = (c: CaStatus["cas"][number]): string => [c.signsHosts ? "signs hosts" : "", c.serves ? "serves" : "", !c.signsHosts ? "retiring" : ""].filter((x) => x !== "").join(", ");
  const table = renderTable(["hash", "role", "hosts", "expires", "subject"], s.cas.map((c) => [c.hash, role(c), c.hosts, formatTime(c.notAfter), c.subject]));
  const lines = [s.rotating ? "rotation in progress: hosts renew under the new CA; servers serve under the old one until `tiffin ca rotate --finish`" : "no rotation in progress"];
  if (s.unknownHosts > 0) lines.push(`${s.unknownHosts} host(s) with no certificate known`);
  if (s.rotating) lines.push(s.notMoved.length === 0 ? "every live host has moved: ready to finish" : `live hosts not moved yet: ${s.notMoved.join(", ")}`);
  return `${table}${lines.join("\n")}\n`;
}

/** What `ca rotate` prints. */
export function renderRotated(r: CaRotated): string {
  return [
    `CA rotation started: hosts renew under ${r.current} (${r.subject}) now; ${r.previous} stays trusted and the servers serve under it until the finish`,
    "CLI contexts: tiffin context refresh-ca (on each machine, before the finish)",
    `new agents: --ca-hash ${r.previous} until the finish, --ca-hash ${r.current} after`,
    "then: tiffin ca status, and tiffin ca rotate --finish once every live host has moved",
    "",
  ].join("\n");
}

/** What `ca rotate --finish` prints. */
export function renderFinished(f: CaFinished): string {
  const forced = f.forced.length > 0 ? `\nforced past ${f.forced.join(", ")}: they must join again with --ca-hash ${f.current}` : "";
  return `CA rotation finished: ${f.dropped} is no longer trusted; servers serve under ${f.current}\nnew agents: --ca-hash ${f.current}${forced}\n`;
}

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw usageError(`cannot read ${flag} ${file}: ${(err as Error).message}`, `give a PEM file with ${flag}`);
  }
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  const ca = program.command("ca").description("the cluster CA (TLS): status, rotate (admin)");
  outputOption(ca.command("status").description("the cluster's CAs, their roles, and how many hosts hold a certificate from each")).action(async (opts: OutputOpts) => {
    const format = outputFormat(opts);
    const s = await ctx.client().caStatus();
    ctx.io.out(renderOutput(format, s, () => renderCaStatus(s)));
  });
  jsonOption(
    ca
      .command("rotate")
      .option("--ca-cert <file>", "the new CA's certificate (PEM); default: the server makes one")
      .option("--ca-key <file>", "the new CA's key (PKCS#8 PEM, ECDSA P-256)")
      .option("--finish", "finish the rotation: servers serve under the new CA and the old one is dropped")
      .option("--force", "with --finish: even if live hosts hold no certificate from the new CA yet (they must join again)")
      .description("rotate the cluster CA with no downtime: rotate, then rotate --finish once every live host has moved"),
  ).action(async (opts: { caCert?: string; caKey?: string; finish?: boolean; force?: boolean; json?: boolean }) => {
    if (opts.finish === true) {
      if (opts.caCert !== undefined || opts.caKey !== undefined) throw usageError("--finish takes no CA", "tiffin ca rotate --finish [--force]");
      const f = await ctx.client().caFinish(opts.force === true);
      ctx.io.out(opts.json ? renderJson(f) : renderFinished(f));
      return;
    }
    if (opts.force === true) throw usageError("--force goes with --finish", "tiffin ca rotate --finish --force");
    if ((opts.caCert === undefined) !== (opts.caKey === undefined)) throw usageError("--ca-cert and --ca-key go together", "give both, or neither to have the server make a CA");
    const given = opts.caCert !== undefined && opts.caKey !== undefined ? { certPem: readPem(opts.caCert, "--ca-cert"), keyPem: readPem(opts.caKey, "--ca-key") } : null;
    const r = await ctx.client().caRotate(given);
    ctx.io.out(opts.json ? renderJson(r) : renderRotated(r));
  });
}
