// `tiffin agent install` / `tiffin server install` and `uninstall`: the daemon as a systemd service.
// Takes the daemon's own flags (each becomes a TIFFIN_<FLAG> line of /etc/tiffin/ROLE.env), writes the
// unit, the environment file, the agent's join token and the data dir, then `systemctl daemon-reload`,
// `enable` and `restart`. `--root DIR` writes under a folder and enables offline (an image being built);
// `--dry-run` prints the plan and changes nothing. The plan itself is pure: ../service-units.ts.

import type { Command} from "commander";
import { Option } from "commander";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { ErrorCodes, TiffinError } from "../../model/errors.ts";
import { inSingleExecutable } from "../../model/single-file.ts";
import type { CliContext } from "../command.ts";
import { envName } from "../env-flags.ts";
import { usageError } from "../errors.ts";
import { installPlan, servicePaths, uninstallPlan } from "../service-units.ts";
import type { ServicePlan, ServiceRole } from "../service-units.ts";

/** Options of install and uninstall themselves (not the daemon's). */
interface InstallFlags {
  root?: string;
  dryRun?: boolean;
  start: boolean;
  bin?: string;
}

/** The daemon's flags given on the command line, as [TIFFIN_ variable, value]: from the daemon's
 * command (options before install's own) and install's copies of them (options after). */
export function givenFlags(daemon: Command, install: Command): [string, string][] {
  const out = new Map<string, string>();
  for (const cmd of [daemon, install]) {
    for (const o of cmd.options) {
      if (o.long === undefined || !daemon.options.some((d) => d.long === o.long)) continue;
      if (cmd.getOptionValueSource(o.attributeName()) !== "cli") continue;
      const v: unknown = cmd.getOptionValue(o.attributeName());
      out.set(envName(o.long), v === true ? "1" : String(v));
    }
  }
  return [...out];
}

/** The `tiffin` a unit should run: the single executable itself, else `tiffin` on PATH, else this script. */
export function detectBin(env: NodeJS.ProcessEnv, argv1: string | undefined): string {
  if (inSingleExecutable()) return process.execPath;
  for (const dir of (env["PATH"] ?? "").split(delimiter)) {
    const p = join(dir, "tiffin");
    if (dir !== "" && existsSync(p)) return p;
  }
  if (argv1 === undefined) throw usageError("cannot tell where tiffin is installed", "pass --bin /path/to/tiffin");
  return realpathSync(argv1);
}

/** Text of a plan for people: what was (or would be) done. */
export function renderPlan(plan: ServicePlan, root: string | undefined, dry: boolean): string {
  const at = (p: string): string => (root === undefined ? p : join(root, p));
  const lines: string[] = [];
  const verb = (done: string, would: string): string => (dry ? `would ${would}` : done);
  for (const c of plan.before) lines.push(`${verb("ran", "run")}: ${c.join(" ")}`);
  for (const d of plan.dirs) lines.push(`${verb("made", "make")} ${at(d.path)} (${d.mode.toString(8).padStart(4, "0")})`);
  for (const f of plan.files) {
    lines.push(`${verb("wrote", "write")} ${at(f.path)} (${f.mode.toString(8).padStart(4, "0")})${f.secret ? ": the join token" : dry ? ":" : ""}`);
    if (dry && !f.secret) lines.push(...f.text.trimEnd().split("\n").map((l) => `    ${l}`));
  }
  for (const r of plan.remove) lines.push(`${verb("removed", "remove")} ${at(r)}`);
  for (const c of plan.after) lines.push(`${verb("ran", "run")}: ${c.join(" ")}`);
  if (!dry) lines.push(...plan.notes);
  return `${lines.join("\n")}\n`;
}

function failed(what: string, err: unknown, root: string | undefined): TiffinError {
  const msg = err instanceof Error ? err.message : String(err);
  const hint = root === undefined ? "run it as root (sudo), or with --root DIR to write under a folder" : `check that ${root} is writable`;
  return new TiffinError(ErrorCodes.InstallFailed, `${what}: ${msg}`, { hint });
}

function run(cmd: string[], root: string | undefined): void {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8" });
  if (r.status === 0) return;
  const why = r.error ? r.error.message : (r.stderr || r.stdout).trim();
  throw new TiffinError(ErrorCodes.InstallFailed, `\`${cmd.join(" ")}\` failed: ${why}`, {
    hint:
      root === undefined
        ? "the files are written: where systemd is not running (a container, a chroot) use --root / (enables without starting) or --no-start, and start the daemon with your service manager"
        : "systemctl --root enables offline; check that systemd's systemctl is installed",
  });
}

/** Carries out a plan; `root` prefixes every path. */
export function carryOut(plan: ServicePlan, root: string | undefined): void {
  const at = (p: string): string => (root === undefined ? p : join(root, p));
  for (const c of plan.before) run(c, root);
  try {
    for (const d of plan.dirs) {
      mkdirSync(at(d.path), { recursive: true, mode: d.mode });
      chmodSync(at(d.path), d.mode);
    }
    for (const f of plan.files) {
      mkdirSync(join(at(f.path), ".."), { recursive: true, mode: 0o755 });
      writeFileSync(at(f.path), f.text, { mode: f.mode });
      chmodSync(at(f.path), f.mode);
    }
    for (const r of plan.remove) rmSync(at(r), { force: true });
  } catch (err) {
    throw failed("cannot write the service's files", err, root);
  }
  for (const c of plan.after) run(c, root);
}

function installOptions(cmd: Command): Command {
  return cmd
    .option("--root <dir>", "write the files under DIR (an image being built) and enable the unit there with `systemctl --root`; starts nothing")
    .option("--dry-run", "print the files and commands, change nothing");
}

/** Adds `install` and `uninstall` under the daemon's command (`tiffin agent`, `tiffin server`). */
export function registerInstall(daemon: Command, role: ServiceRole, ctx: CliContext): void {
  const p = servicePaths(role);
  const install = installOptions(daemon.command("install"))
    .description(`install ${role === "agent" ? "this host's agent" : "the server"} as a systemd service (${p.unitName}), configured by the flags given`)
    .option("--no-start", "enable the unit for the next boot, do not start it now")
    .option("--bin <path>", "the tiffin the unit runs (default: this single executable, else `tiffin` on PATH)");
  // Install takes the daemon's flags after its own too (commander hands everything after the first
  // option it does not know to the subcommand): copies without defaults or variables, so only what
  // the command line says reaches the environment file.
  for (const o of daemon.options) if (o.long !== undefined && o.long !== "--help") install.addOption(new Option(o.flags, o.description));
  install.addHelpText("after", `\nFlags of \`tiffin ${role}\` become TIFFIN_<FLAG> lines of ${p.env}.${role === "agent" ? ` The join token (--join-token-file or --join-token) is copied to ${p.joinToken ?? ""} (0600).` : ""}\n`);
  install.action((f: InstallFlags) => {
    const root = f.root === undefined ? undefined : resolve(f.root);
    const env = givenFlags(daemon, install);
    const given = new Map(env);
    const data = given.get("TIFFIN_DATA");
    if (role === "agent" && !given.has("TIFFIN_SERVER")) throw usageError("tiffin agent install needs --server URL", "e.g. tiffin agent install --server http://10.0.0.1:7070 --join-token-file join.token --labels rack=r1");
    let joinToken = given.get("TIFFIN_JOIN_TOKEN");
    const tokenFile = given.get("TIFFIN_JOIN_TOKEN_FILE");
    if (role === "agent" && joinToken === undefined) {
      if (tokenFile === undefined) throw usageError("tiffin agent install needs the join token", "pass --join-token-file FILE (the server's DATA/join.token) or --join-token TOKEN");
      try {
        joinToken = readFileSync(tokenFile, "utf8").trim();
      } catch (err) {
        throw usageError(`cannot read the join token file ${tokenFile}: ${(err as Error).message}`, "the server writes it as DATA/join.token");
      }
    }
    if (data !== undefined) env.splice(env.findIndex(([k]) => k === "TIFFIN_DATA"), 1, ["TIFFIN_DATA", resolve(data)]);
    const bin = f.bin === undefined ? detectBin(process.env, process.argv[1]) : resolve(f.bin);
    if (!isAbsolute(bin)) throw usageError(`--bin wants a path, got "${f.bin ?? ""}"`);
    const plan = installPlan({ role, bin, env, noStart: !f.start, ...(joinToken !== undefined ? { joinToken } : {}), ...(data !== undefined ? { data: resolve(data) } : {}), ...(root !== undefined ? { root } : {}) });
    if (!f.dryRun) carryOut(plan, root);
    ctx.io.out(renderPlan(plan, root, f.dryRun === true));
  });
  installOptions(daemon.command("uninstall"))
    .description(`stop and disable ${p.unitName} and remove its unit and ${p.env}${role === "agent" ? " and join token" : ""}; the data dir stays`)
    .action((f: InstallFlags) => {
      const root = f.root === undefined ? undefined : resolve(f.root);
      const plan = uninstallPlan(role, root);
      if (!f.dryRun) carryOut(plan, root);
      ctx.io.out(renderPlan(plan, root, f.dryRun === true));
    });
}
