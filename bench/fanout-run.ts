// The parts of bench/fanout.ts that run things: the origin (a real `tiffin server` in the origin
// namespace, with the package pushed to it by `tiffin pkg push`), and one timed fan-out of one
// method to N peers, each a process in its own host namespace.

import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import type { PeerConfig, PeerMessage, PeerStats } from "./fanout-lib.ts";
import { cpuSeconds } from "./lib.ts";
import type { Member, Net } from "./netns.ts";

const root = path.join(import.meta.dirname, "..");
const tiffin = path.join(root, "bin", "tiffin.js");
const node = process.execPath;

/** The origin as the peers see it. */
export interface Origin {
  url: string;
  joinToken: string;
  packageId: string;
  /** The server process (its CPU time is measured). */
  pid: number;
}

/** Starts `tiffin server` in the origin namespace and pushes the tree at `tree` as package fanout. */
export async function startOrigin(net: Net, work: string, tree: string): Promise<Origin> {
  const data = path.join(work, "origin");
  const url = `http://${net.origin.ip}:7070`;
  const log = fs.openSync(path.join(work, "origin.log"), "a");
  // --no-tls: off loopback a server speaks HTTPS by default, but the bench's peers (fanout-peer.ts) and
  // its other methods speak plain HTTP: it measures how the fanout spreads, with no TLS on any method.
  const server = net.spawn(net.origin.ns, node, [tiffin, "server", "--data", data, "--listen", `${net.origin.ip}:7070`, "--no-tls"], { stdio: ["ignore", "pipe", log] });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    server.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("listening on")) resolve();
    });
    server.once("exit", (c) => reject(new Error(`tiffin server exited (${c}) before listening; see ${path.join(work, "origin.log")}`)));
  });
  const token = (f: string): string => fs.readFileSync(path.join(data, f), "utf8").trim();
  // The push runs in the origin namespace to its own address (over lo), so the origin's link counters see none of it.
  const env = { ...process.env, TIFFIN_ADDR: url, TIFFIN_TOKEN: token("admin.token"), TIFFIN_PKG_CACHE: path.join(work, "build-cache") };
  const push = net.spawn(net.origin.ns, node, [tiffin, "pkg", "push", tree, "--name", "fanout", "--json"], { env, stdio: ["ignore", "pipe", log] });
  let out = "";
  push.stdout?.on("data", (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((resolve) => push.once("exit", resolve));
  if (code !== 0) throw new Error(`tiffin pkg push exited ${code}; see ${path.join(work, "origin.log")}`);
  const pushed = JSON.parse(out) as { package: { id: string } };
  fs.rmSync(path.join(work, "build-cache"), { recursive: true, force: true });
  return { url, joinToken: token("join.token"), packageId: pushed.package.id, pid: server.pid ?? 0 };
}

/** The figures of one method at one N. */
export interface RunResult {
  method: string;
  n: number;
  /** Seconds from "go" until the last peer had the package; null when the cap ran out first. */
  seconds: number | null;
  /** Peers that finished (all of them unless capped). */
  finished: number;
  /** The cap of this run, seconds. */
  capS: number;
  /** When capped: the time all would have taken at the rate reached by the cap (N x size / bytes received x cap). */
  estimateS: number | null;
  /** Bytes the origin's link sent (kernel counters), from "go" to the last peer done (or the cap). */
  originTx: number;
  /** The same as the peers count it (bytes received from the origin). */
  peersFromOrigin: number;
  peersFromPeers: number;
  /** Share of the machine's CPU time busy during the run (all processes, not only ours). */
  cpuBusy: number;
  /** CPU seconds the peers (webtorrent: and the seeder) and the origin server used during the run. */
  peersCpuS: number;
  originCpuS: number;
  /** Swarm: the peers' answers and origin asks, summed (null for other methods). */
  swarm: NonNullable<PeerStats["swarm"]> | null;
  /** Swarm: per peer, ms from its last piece to the unpacked tree, ascending. */
  unpackMs: number[];
}

function sumSwarm(stats: PeerStats[]): RunResult["swarm"] {
  const all = stats.flatMap((x) => (x.swarm ? [x.swarm] : []));
  if (all.length === 0) return null;
  const failures: Record<string, number> = {};
  for (const x of all) for (const [k, v] of Object.entries(x.failures)) failures[k] = (failures[k] ?? 0) + v;
  const sum = (f: (x: (typeof all)[number]) => number): number => all.reduce((a, x) => a + f(x), 0);
  return { peerBusy: sum((x) => x.peerBusy), peerFailed: sum((x) => x.peerFailed), failures, fallbackAsks: sum((x) => x.fallbackAsks), stuckAsks: sum((x) => x.stuckAsks), trackerErrors: sum((x) => x.trackerErrors), endgameAsks: sum((x) => x.endgameAsks ?? 0), endgameWins: sum((x) => x.endgameWins ?? 0) };
}

/** What one run needs. */
export interface RunSpec {
  net: Net;
  work: string;
  origin: Origin;
  method: "swarm" | "http" | "webtorrent";
  n: number;
  size: number;
  capS: number;
  uploadLimit: number;
  strategy: "sequential" | "rarest";
  /** The single file of the package, for the seeder. */
  file: string;
  say: (line: string) => void;
}

/** A started peer process with its messages. */
interface Proc {
  child: ChildProcess;
  done: { ms: number; stats: PeerStats; unpackMs: number | null } | null;
  bytes: number;
  stats: PeerStats | null;
  next(pred: (m: PeerMessage) => boolean, timeoutMs: number, what: string): Promise<PeerMessage>;
}

/** Runs one fan-out and returns its figures. */
export async function runOne(s: RunSpec): Promise<RunResult> {
  const base: PeerConfig = { method: s.method, ip: "", dataDir: "", serverUrl: s.origin.url, joinToken: s.origin.joinToken, packageId: s.origin.packageId, originIp: s.net.origin.ip, announce: "", torrent: "", uploadLimit: s.uploadLimit, strategy: s.strategy };
  const dir = path.join(s.work, `${s.method}-${s.n}`);
  const log = fs.openSync(path.join(s.work, `${s.method}-${s.n}.log`), "a");
  const procs: Proc[] = [];
  try {
    if (s.method === "webtorrent") {
      const seeder = start(s.net, s.net.origin, { ...base, method: "webtorrent-seed", ip: s.net.origin.ip, dataDir: path.join(dir, "seed"), torrent: s.file }, log, "webtorrent/peer.ts");
      procs.push(seeder);
      const ready = await seeder.next((m) => m.type === "ready", 120_000, "the webtorrent seeder");
      if (ready.type !== "ready") throw new Error("unreachable");
      base.torrent = ready.torrent ?? "";
      base.announce = ready.announce ?? "";
    }
    const peers = s.net.hosts.slice(0, s.n).map((h, i) => start(s.net, h, { ...base, ip: h.ip, dataDir: path.join(dir, `peer-${i + 1}`) }, log, s.method === "webtorrent" ? "webtorrent/peer.ts" : "fanout-peer.ts"));
    procs.push(...peers);
    await Promise.all(peers.map((p, i) => p.next((m) => m.type === "ready", 120_000, `peer ${i + 1}`)));

    const cpu0 = cpuTimes();
    const ours = (): { peers: number; origin: number } => ({ peers: procs.reduce((a, p) => a + cpuOf(p.child), 0), origin: cpuOf({ pid: s.origin.pid }) });
    const own0 = ours();
    const tx0 = (await s.net.counters(s.net.origin.ns)).tx;
    const t0 = performance.now();
    for (const p of peers) p.child.stdin?.write("go\n");
    let lastSay = t0;
    let failure: string | null = null;
    for (const p of peers) p.child.once("exit", (c) => { if (!p.done) failure ??= `a peer exited (${c}) before it had the package; see ${dir}.log`; });
    while (peers.some((p) => !p.done) && failure === null && performance.now() - t0 < s.capS * 1000) {
      await new Promise((r) => setTimeout(r, 200));
      if (performance.now() - lastSay >= 5000) {
        lastSay = performance.now();
        const got = peers.reduce((a, p) => a + (p.done ? s.size : p.bytes), 0);
        const tx = (await s.net.counters(s.net.origin.ns)).tx - tx0;
        s.say(`    ${((performance.now() - t0) / 1000).toFixed(0)} s: ${peers.filter((p) => p.done).length}/${s.n} done, ${gib(got)} of ${gib(s.size * s.n)} received, origin sent ${(tx / s.size).toFixed(2)}x the package`);
      }
    }
    if (failure !== null) throw new Error(failure);
    const finished = peers.filter((p) => p.done).length;
    const seconds = finished === s.n ? Math.max(...peers.map((p) => p.doneAt)) - t0 : null;
    const originTx = (await s.net.counters(s.net.origin.ns)).tx - tx0;
    const received = peers.reduce((a, p) => a + (p.done ? s.size : p.bytes), 0);
    const estimateS = seconds === null && received > 0 ? (s.capS * s.n * s.size) / received : null;
    const cpuBusy = busyShare(cpu0, cpuTimes());
    const own1 = ours();
    const stats = peers.map((p) => p.done?.stats ?? p.stats ?? { bytesFromOrigin: 0, bytesFromPeers: 0, bytesUploaded: 0 });
    return {
      method: s.method, n: s.n, seconds: seconds === null ? null : seconds / 1000, finished, capS: s.capS, estimateS, originTx, cpuBusy,
      peersCpuS: own1.peers - own0.peers, originCpuS: own1.origin - own0.origin,
      peersFromOrigin: stats.reduce((a, x) => a + x.bytesFromOrigin, 0),
      peersFromPeers: stats.reduce((a, x) => a + x.bytesFromPeers, 0),
      swarm: sumSwarm(stats),
      unpackMs: peers.flatMap((p) => (p.done?.unpackMs != null ? [p.done.unpackMs] : [])).sort((a, b) => a - b),
    };
  } finally {
    await Promise.all(procs.map((p) => stop(p.child)));
    fs.closeSync(log);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

type TimedProc = Proc & { doneAt: number };

function start(net: Net, m: Member, cfg: PeerConfig, log: number, script: string): TimedProc {
  const child = net.spawn(m.ns, node, ["--disable-warning=ExperimentalWarning", path.join(import.meta.dirname, script)], { env: { ...process.env, FANOUT_PEER: JSON.stringify(cfg) }, stdio: ["pipe", "pipe", log] });
  const waiters: { pred: (m: PeerMessage) => boolean; resolve: (m: PeerMessage) => void }[] = [];
  const p: TimedProc = {
    child, done: null, bytes: 0, stats: null, doneAt: 0,
    next(pred, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${what} (${m.ns}) did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
        child.once("exit", (c) => reject(new Error(`${what} (${m.ns}) exited (${c}) before it was ready`)));
        waiters.push({ pred, resolve: (msg) => { clearTimeout(timer); resolve(msg); } });
      });
    },
  };
  child.stdin?.on("error", () => undefined);
  createInterface({ input: child.stdout! }).on("line", (line) => {
    let msg: PeerMessage;
    try {
      msg = JSON.parse(line) as PeerMessage;
    } catch {
      return; // a library's stray output
    }
    if (msg.type === "progress") {
      p.bytes = msg.bytes;
      p.stats = msg.stats;
    }
    else if (msg.type === "stats") p.stats = msg.stats;
    else if (msg.type === "done") {
      p.done = { ms: msg.ms, stats: msg.stats, unpackMs: msg.unpackMs ?? null };
      p.doneAt = performance.now();
    } else if (msg.type === "error") process.stderr.write(`  ${m.ns}: ${msg.message}\n`);
    for (const w of waiters.splice(0)) {
      if (w.pred(msg)) w.resolve(msg);
      else waiters.push(w);
    }
  });
  return p;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stdin?.end("stop\n");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** CPU seconds of a process so far (0 once it is gone). */
function cpuOf(c: { pid?: number | undefined }): number {
  try {
    return c.pid ? cpuSeconds(c.pid) : 0;
  } catch {
    return 0;
  }
}

function cpuTimes(): { busy: number; total: number } {
  const f = (fs.readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

function busyShare(a: { busy: number; total: number }, b: { busy: number; total: number }): number {
  return (b.busy - a.busy) / Math.max(1, b.total - a.total);
}

/** Bytes as GiB with one decimal. */
export function gib(n: number): string {
  return `${(n / 2 ** 30).toFixed(1)} GiB`;
}
