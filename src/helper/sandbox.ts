// The OCI bundle of one attempt, in DIR/sandbox: config.json (sandbox-config.ts) and an empty rootfs
// whose /bin, /lib... are the host's symlinks (merged /usr) or read-only binds (unmerged). Also the
// trivial container an agent starts at start-up to learn whether a runtime works on this host.
import { createHash } from "node:crypto";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseHelperConfig } from "./config.ts";
import { helperPaths } from "./paths.ts";
import { defaultSandboxUser } from "./protocol.ts";
import type { RuntimeInfo, SandboxConfig, SandboxUser } from "./protocol.ts";
import { ociConfig, taskHostIds } from "./sandbox-config.ts";
import { hostSkeleton, layoutTemplate, prepareStateDir } from "./sandbox-private.ts";
import type { HostLayout } from "./sandbox-private.ts";
import { deleteContainer, runtimeArgv, runtimeEnv } from "./sandbox-runtime.ts";
import { hostMemoryMode, v2MemoryUnified } from "./sandbox-oom-v2.ts";
import { cgroupMounts, removeCgroup } from "./sandbox-cgroup.ts";
import { deathTools, executable, programProblem } from "./supervise.ts";
import type { DeathTools } from "./supervise.ts";

/** A written bundle. */
export interface Bundle {
  dir: string;
  /** Container id: unique per attempt directory, so two helpers never share one. */
  id: string;
  /** Where the runtime writes the container init's pid (on the host). */
  pidFile: string;
  /** `<parent>/<id>`: removed by the helper when done; null when rootless. */
  cgroup: string | null;
  /** The init (`timeout`) in front of the task, or null when the task is pid 1 itself. */
  init: string | null;
  /** What chains the container's life to the helper's (supervise.ts): the runtime runs under it too. */
  tools: DeathTools;
}

/** What writeBundle needs. */
export interface BundleInput {
  attemptId: string;
  /** The attempt directory (the bundle goes into DIR/sandbox). */
  attemptDir: string;
  workDir: string;
  command: string[];
  env: Record<string, string>;
  stopSignal: string;
  /** Stop grace: the init kills the task this long after the stop signal (also when the helper dies). */
  graceMs: number;
  sandbox: SandboxConfig;
  /** A directory (on a tmpfs) for config.json, which then is a link from the bundle: a task with
   * secrets in its env must not have them on disk (secrets-dir.ts). @default the bundle itself */
  configDir?: string;
}

/** A container id for an attempt: readable, and unique even when two test dirs reuse attempt ids. */
export function containerId(attemptId: string, attemptDir: string): string {
  const hash = createHash("sha256").update(path.resolve(attemptDir)).digest("hex").slice(0, 8);
  return `tiffin-${attemptId.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 80)}-${hash}`;
}

const systemRoots = ["/usr", "/etc", "/opt"];
const maybeLinked = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/** Host directories to bind read-only, and the /bin-style symlinks to recreate in the rootfs. */
export function systemLayout(): { dirs: string[]; links: { name: string; target: string }[] } {
  const dirs = systemRoots.filter((d) => isDir(d));
  const links: { name: string; target: string }[] = [];
  for (const name of maybeLinked) {
    const p = `/${name}`;
    try {
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) links.push({ name, target: fs.readlinkSync(p) });
      else if (st.isDirectory()) dirs.push(p);
    } catch {
      // not on this host
    }
  }
  return { dirs, links };
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** What a bundle needs to know of the host: the same for every task of a helper's life. */
interface HostFacts {
  layout: ReturnType<typeof systemLayout>;
  tools: DeathTools;
  memoryMode: ReturnType<typeof hostMemoryMode>;
  hostname: string;
  /** The host's /var (two levels) and /run (one level) layout, for the private ones (sandbox-private.ts). */
  privateLayout: HostLayout;
}

let hostFactsCache: HostFacts | null = null;

/**
 * The host facts, looked up once per process: they cost ~0.3 ms of stat/readlink and a read of
 * /proc/self/mounts on every start (a restart loop would pay it each time) and do not change while a
 * helper lives. `fresh` re-reads them (tests that change what they describe).
 */
export function hostFacts(fresh = false): HostFacts {
  if (hostFactsCache === null || fresh) {
    hostFactsCache = {
      layout: systemLayout(),
      tools: deathTools(fresh),
      memoryMode: hostMemoryMode(cgroupMounts()),
      hostname: os.hostname(),
      privateLayout: { var: hostSkeleton("/var", 2), run: hostSkeleton("/run", 1) },
    };
  }
  return hostFactsCache;
}

/** Writes DIR/sandbox (replacing what a previous run left there). Throws on I/O errors. */
export function writeBundle(o: BundleInput): Bundle {
  const dir = path.join(o.attemptDir, "sandbox");
  fs.rmSync(dir, { recursive: true, force: true });
  const rootfs = path.join(dir, "rootfs");
  // A rootfs of its own per attempt (not one shared skeleton): the runtime creates each mount point in
  // it, e.g. the work directory's path, and a shared one would show every task the other tasks' paths.
  // config.json holds the task's env: it is 0600 and the bundle dir cannot be listed. The dir is 0711,
  // not 0700: the runtime sets up the rootfs inside as the user namespace's root (a host uid of its
  // own), which must be able to pass through it (Docker's userns-remap root is 0711 for the same
  // reason). The rootfs keeps the usual 0755: it is the task's "/".
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o711);
  fs.mkdirSync(rootfs, { recursive: true });
  const { layout, tools, memoryMode, hostname, privateLayout } = hostFacts();
  for (const l of layout.links) fs.symlinkSync(l.target, path.join(rootfs, l.name));
  const id = containerId(o.attemptId, o.attemptDir);
  const rootless = o.sandbox.runtime.rootless;
  const helper = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const owner = taskHostIds(o.sandbox, helper);
  const userns = rootless ? null : (o.sandbox.user ?? defaultSandboxUser).userns;
  // In a user namespace the runtime sets the container up as the namespace's root, which must be able
  // to make mount points in the rootfs.
  if (userns !== null) fs.chownSync(rootfs, userns.hostBase, userns.hostBase);
  // The task is not root: its work dir (and the files the agent wrote there) must be its own.
  if (!rootless) chownTree(o.workDir, owner);
  const stateDir = o.sandbox.stateDir ?? null;
  if (stateDir !== null) prepareStateDir(stateDir, privateLayout, owner, userns === null ? null : userns.hostBase);
  // Shared by the agent's attempts (DATA/layouts); without one (tests), per attempt.
  const template = layoutTemplate(o.sandbox.layoutCache ?? path.join(dir, "layouts"), privateLayout, owner);
  const privateDirs = { template, stateDir };
  const cgroup = rootless ? null : `${o.sandbox.cgroupParent.replace(/\/+$/, "")}/${id}`;
  const config = ociConfig({
    command: o.command,
    env: o.env,
    workDir: o.workDir,
    hostname,
    stopSignal: o.stopSignal,
    graceMs: o.graceMs,
    tools,
    sandbox: o.sandbox,
    systemDirs: layout.dirs,
    cgroupsPath: cgroup === null ? null : `${cgroup}/task`,
    uid: helper.uid,
    gid: helper.gid,
    privateDirs,
    // v1: the OOM killer kept away (sandbox-oom.ts); v2: memory.high and a whole-task kill (sandbox-oom-v2.ts).
    disableOomKiller: cgroup !== null && memoryMode === "v1",
    unified: cgroup !== null && memoryMode === "v2" ? v2MemoryUnified(o.sandbox.limits.memoryMiB * 1024 * 1024) : null,
  });
  // Compact: the runtime parses it on every start; `jq . config.json` shows it readable.
  if (o.configDir === undefined) fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config), { mode: 0o600 });
  else {
    fs.writeFileSync(path.join(o.configDir, "config.json"), JSON.stringify(config), { mode: 0o600 });
    fs.symlinkSync(path.join(o.configDir, "config.json"), path.join(dir, "config.json"));
  }
  return { dir, id, pidFile: path.join(dir, "init.pid"), cgroup, init: tools.timeout, tools };
}

/** Gives `dir` and everything under it (not following symlinks) to `owner`. */
function chownTree(dir: string, owner: { uid: number; gid: number }): void {
  fs.lchownSync(dir, owner.uid, owner.gid);
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    fs.lchownSync(path.join(e.parentPath, e.name), owner.uid, owner.gid);
  }
}

/** Why a sandbox cannot start before the runtime is asked, or null: missing host paths and program. */
export function preflight(o: BundleInput): string | null {
  for (const m of o.sandbox.mounts) {
    if (!fs.existsSync(m.host)) return `mount ${m.host} -> ${m.task}: the host path does not exist`;
  }
  return programProblem(o.command, o.workDir, o.env);
}


/**
 * Starts a trivial container (`true`) with `runtime` in a bundle under `scratchDir`, exactly as a task
 * would run (same config, network, cgroups and `user`: a user namespace unless told otherwise), and
 * resolves with null when it worked or why not.
 */
export async function probeRuntime(runtime: RuntimeInfo, scratchDir: string, opts: { timeoutMs?: number; user?: SandboxUser } = {}): Promise<string | null> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const attemptDir = fs.mkdtempSync(path.join(scratchDir, "probe-"));
  // As searchable as an attempt dir (0755): runc, unlike crun, reaches the bundle as the user
  // namespace's root, which a 0700 mkdtemp dir would shut out.
  fs.chmodSync(attemptDir, 0o711);
  const workDir = path.join(attemptDir, "work");
  fs.mkdirSync(workDir);
  const sandbox: SandboxConfig = {
    runtime,
    network: "private",
    readOnlyPaths: [],
    mounts: [],
    limits: { cpu: 0.1, memoryMiB: 32, pids: 16 },
    cgroupParent: "/tiffin",
    ...(opts.user ? { user: opts.user } : {}),
  };
  const trueBin = ["/usr/bin/true", "/bin/true"].find((p) => executable(p)) ?? "true";
  let bundle: Bundle | null = null;
  try {
    bundle = writeBundle({ attemptId: `probe-${process.pid}`, attemptDir, workDir, command: [trueBin], env: { PATH: "/usr/bin:/bin" }, stopSignal: "SIGTERM", graceMs: 1000, sandbox });
    const b = bundle;
    const [file, ...args] = runtimeArgv(runtime, ["run", "--bundle", b.dir, b.id]);
    return await new Promise<string | null>((resolve) => {
      const child = spawn(file ?? runtime.path, args, { cwd: b.dir, env: runtimeEnv(), stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      const keep = (c: Buffer): void => void (out = (out + c.toString()).slice(-2000));
      child.stdout.on("data", keep);
      child.stderr.on("data", keep);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.once("error", (e) => (clearTimeout(timer), resolve(e.message)));
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        resolve(code === 0 ? null : `${runtime.name} run exited ${code ?? signal}: ${lastLine(out) || "no output"}`);
      });
    });
  } catch (e) {
    return `preparing the probe failed: ${String(e)}`;
  } finally {
    if (bundle) {
      await deleteContainer(runtime, bundle.id);
      if (bundle.cgroup) removeCgroup(bundle.cgroup);
    }
    fs.rmSync(attemptDir, { recursive: true, force: true });
  }
}

/** The last non-empty line of a runtime's output (its error message). */
export function lastLine(text: string): string {
  return text.trim().split("\n").filter((l) => l.trim() !== "").pop()?.trim() ?? "";
}

function sandboxOf(attemptDir: string): { runtime: RuntimeInfo; id: string; cgroup: string | null } | null {
  try {
    // Checked by the schema the helper starts with: an attempt.json of another shape names no sandbox.
    const checked = parseHelperConfig(JSON.parse(fs.readFileSync(helperPaths(attemptDir).config, "utf8")));
    if (!checked.ok) return null;
    const cfg = checked.config;
    const sb = cfg.sandbox ?? null;
    if (sb === null) return null;
    const id = containerId(cfg.attemptId, attemptDir);
    return { runtime: sb.runtime, id, cgroup: sb.runtime.rootless ? null : `${sb.cgroupParent.replace(/\/+$/, "")}/${id}` };
  } catch {
    return null;
  }
}

/**
 * Removes what a helper that died (SIGKILL) left of its sandbox: the container, if the runtime still
 * knows it (killing it), and its cgroup. For the agent when it finds a dead helper or deletes an
 * attempt directory; a no-op for plain attempts.
 */
export async function removeSandbox(attemptDir: string): Promise<void> {
  const sb = sandboxOf(attemptDir);
  if (sb === null) return;
  await deleteContainer(sb.runtime, sb.id);
  if (sb.cgroup !== null) removeCgroup(sb.cgroup);
}

/** `removeSandbox`, synchronously (test clean-ups that must finish before a temp dir goes). */
export function removeSandboxSync(attemptDir: string): void {
  const sb = sandboxOf(attemptDir);
  if (sb === null) return;
  const [file, ...args] = runtimeArgv(sb.runtime, ["delete", "-f", sb.id]);
  try {
    execFileSync(file ?? sb.runtime.path, args, { env: runtimeEnv(), stdio: "ignore", timeout: 10_000 });
  } catch {
    // not known to the runtime any more
  }
  if (sb.cgroup !== null) removeCgroup(sb.cgroup);
}
