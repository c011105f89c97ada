// Fan-out (issue 4): one package to N agents, each in its own network namespace behind a
// rate-limited link, by (a) Tiffin's swarm, (b) plain HTTP from the origin (the server's own piece
// GET, one piece after another, as an agent without the swarm fetches) and (c) BitTorrent
// (webtorrent + bittorrent-tracker, from bench/webtorrent/, installed on first use). Per N and
// method: seconds until every agent has the package, and bytes the origin sent as its link's
// kernel counters show them (and as the peers count them). Needs root (ip netns, tc).
//
//   node bench/fanout.ts [--size-mib 256] [--n 1,4,16,32] [--rate 100mbit] [--origin-rate RATE]
//                        [--methods swarm,http,webtorrent] [--cap-s 150] [--http-cap-s 60]
//                        [--upload-limit-mib 0] [--wt-strategy sequential|rarest] [--keep]
//
// --cap-s bounds each (method, N), --http-cap-s the plain HTTP runs: through one origin link they
// take N x the time of one (32 x 21 s at 100mbit), which the rate reached by the cap shows well
// enough. A capped run is reported as "> cap" with the time its rate so far points to.

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { runOne, startOrigin } from "./fanout-run.ts";
import type { RunResult } from "./fanout-run.ts";
import { createNet, removeOnSignal } from "./netns.ts";
import type { Net } from "./netns.ts";

const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "256" },
    n: { type: "string", default: "1,4,16,32" },
    rate: { type: "string", default: "100mbit" },
    "origin-rate": { type: "string" },
    methods: { type: "string", default: "swarm,http,webtorrent" },
    "cap-s": { type: "string", default: "150" },
    "http-cap-s": { type: "string", default: "60" },
    "upload-limit-mib": { type: "string", default: "0" },
    "wt-strategy": { type: "string", default: "sequential" },
    keep: { type: "boolean", default: false },
  },
});
const SIZE = Number(values["size-mib"]) * 2 ** 20;
const NS = values.n.split(",").map(Number);
const CAP_S = Number(values["cap-s"]);
const HTTP_CAP_S = Number(values["http-cap-s"]);
const allMethods = ["swarm", "http", "webtorrent"] as const;
type Method = (typeof allMethods)[number];
const methods = values.methods.split(",") as Method[];
const unknown = methods.filter((m) => !allMethods.includes(m));
const strategy = values["wt-strategy"] === "rarest" ? "rarest" : "sequential";
if (unknown.length > 0 || values["wt-strategy"] !== strategy || NS.some((n) => !(n >= 1)) || !(SIZE > 0)) {
  process.stderr.write(`usage: node bench/fanout.ts [--size-mib 256] [--n 1,4,16,32] [--rate 100mbit] [--methods ${allMethods.join(",")}] [--cap-s 150]\n`);
  process.exit(2);
}
const command = `node bench/fanout.ts --size-mib ${values["size-mib"]} --n ${values.n} --rate ${values.rate}${values["origin-rate"] ? ` --origin-rate ${values["origin-rate"]}` : ""} --methods ${values.methods} --cap-s ${CAP_S} --http-cap-s ${HTTP_CAP_S}${values["upload-limit-mib"] !== "0" ? ` --upload-limit-mib ${values["upload-limit-mib"]}` : ""}${strategy !== "sequential" ? ` --wt-strategy ${strategy}` : ""}`;
const say = (line: string): void => void process.stdout.write(`${line}\n`);

if (methods.includes("webtorrent")) ensureWebtorrent();

removeOnSignal();
const work = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-fanout-"));
// Also on SIGINT/SIGTERM: removeOnSignal's handler ends with process.exit, which runs this.
if (!values.keep) process.once("exit", () => fs.rmSync(work, { recursive: true, force: true }));
let net: Net | null = null;
const results: RunResult[] = [];
try {
  say(`fanout: ${values["size-mib"]} MiB to N = ${NS.join(", ")} agents; links ${values.rate} each way (origin ${values["origin-rate"] ?? values.rate}); methods ${methods.join(", ")}; cap ${CAP_S} s per run (http ${HTTP_CAP_S} s)`);
  const tree = path.join(work, "tree");
  const file = path.join(tree, "blob.bin");
  writeRandom(file, SIZE); // random: nothing compresses, so bytes on the wire are the package's bytes
  net = await createNet({ hosts: Math.max(...NS), rate: values.rate, ...(values["origin-rate"] ? { originRate: values["origin-rate"] } : {}) });
  say(`  namespaces ${net.prefix}* made (${net.hosts.length} hosts, origin ${net.origin.ip})`);
  const origin = await startOrigin(net, work, tree);
  say(`  origin: tiffin server at ${origin.url}, package fanout ${origin.packageId.slice(0, 12)} pushed`);
  for (const n of NS) {
    for (const method of methods) {
      say(`  ${method}, N=${n}:`);
      const r = await runOne({ net, work, origin, method, n, size: SIZE, capS: method === "http" ? HTTP_CAP_S : CAP_S, uploadLimit: Number(values["upload-limit-mib"]) * 2 ** 20, strategy, file, say });
      results.push(r);
      say(`    ${r.seconds === null ? `capped at ${r.capS} s (${r.finished}/${n} done; about ${r.estimateS?.toFixed(0) ?? "?"} s at the rate so far)` : `all ${n} in ${r.seconds.toFixed(1)} s`}; origin sent ${(r.originTx / SIZE).toFixed(2)}x the package; CPU ${r.peersCpuS.toFixed(0)} s peers, ${r.originCpuS.toFixed(1)} s origin, machine ${(100 * r.cpuBusy).toFixed(0)}% busy`);
      const mid = r.unpackMs[Math.floor(r.unpackMs.length / 2)];
      if (mid !== undefined) say(`    unpacking after the last piece: median ${mid.toFixed(0)} ms, max ${(r.unpackMs.at(-1) ?? 0).toFixed(0)} ms`);
      if (r.swarm) say(`    peers' answers: ${r.swarm.peerBusy} busy (503), ${r.swarm.peerFailed} failed ${JSON.stringify(r.swarm.failures)}; origin asked as fallback ${r.swarm.fallbackAsks}x, as stuck ${r.swarm.stuckAsks}x; tracker plans failed ${r.swarm.trackerErrors}x; endgame: ${r.swarm.endgameAsks ?? 0} second asks, ${r.swarm.endgameWins ?? 0} first`);
    }
  }
} finally {
  await net?.remove();
  if (!values.keep) fs.rmSync(work, { recursive: true, force: true });
  else say(`  kept ${work}`);
}
report(results);

function report(rs: RunResult[]): void {
  const secs = (r: RunResult | undefined): string => (r === undefined ? "-" : r.seconds === null ? `> ${r.capS} (about ${r.estimateS?.toFixed(0) ?? "?"})` : r.seconds.toFixed(1));
  say("");
  say(`| N | method | seconds until all have it | origin sent / size (link counters) | (peers' count) | from peers / size | CPU s: peers, origin | machine CPU busy |`);
  say(`| --- | --- | --- | --- | --- | --- | --- | --- |`);
  for (const r of rs) {
    say(`| ${r.n} | ${r.method} | ${secs(r)} | ${(r.originTx / SIZE).toFixed(2)} | ${(r.peersFromOrigin / SIZE).toFixed(2)} | ${(r.peersFromPeers / SIZE).toFixed(2)} | ${r.peersCpuS.toFixed(0)}, ${r.originCpuS.toFixed(1)} | ${(100 * r.cpuBusy).toFixed(0)}% |`);
  }
  const lo = Math.min(...NS);
  const hi = Math.max(...NS);
  const at = (m: string, n: number): RunResult | undefined => rs.find((r) => r.method === m && r.n === n);
  say("");
  for (const m of methods) {
    const a = at(m, lo)?.seconds;
    const b = at(m, hi)?.seconds;
    if (lo !== hi) say(`${m}: time N=${hi} / N=${lo} = ${a && b ? (b / a).toFixed(2) : b === null && a ? `> ${((at(m, hi)?.capS ?? 0) / a).toFixed(2)}` : "-"}; origin bytes at most ${(Math.max(...rs.filter((r) => r.method === m).map((r) => r.originTx)) / SIZE).toFixed(2)}x the package`);
  }
  for (const n of NS) {
    const s = at("swarm", n);
    const w = at("webtorrent", n);
    if (!s || !w) continue;
    const verdict = s.seconds !== null && w.seconds !== null ? `swarm ${(w.seconds / s.seconds).toFixed(2)}x as fast` : s.seconds !== null ? "swarm faster" : w.seconds !== null ? "swarm slower" : "both capped";
    say(`N=${n}: swarm ${secs(s)} s vs webtorrent ${secs(w)} s (${verdict})`);
  }
  if (methods.includes("swarm") && lo !== hi) {
    const sw = rs.filter((r) => r.method === "swarm");
    const [s1, sN, wN] = [at("swarm", lo)?.seconds, at("swarm", hi)?.seconds, at("webtorrent", hi)];
    const faster = !wN ? "not measured" : sN == null ? (wN.seconds === null ? "undecided, both capped" : "NOT met") : wN.seconds === null || sN < wN.seconds ? "met" : "NOT met";
    say(`targets (swarm): origin bytes <= 1.5x at every N: ${sw.every((r) => r.originTx <= 1.5 * SIZE) ? "met" : "NOT met"}; N=${hi} <= 2.5x N=${lo}: ${s1 && sN && sN / s1 <= 2.5 ? "met" : "NOT met"}; faster than webtorrent at N=${hi}: ${faster}`);
  }
  say("");
  say(`rerun: ${command}`);
}

/** Writes `size` random bytes to `file` in 4 MiB chunks. */
function writeRandom(file: string, size: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, "w");
  for (let done = 0; done < size; done += 4 * 2 ** 20) fs.writeSync(fd, randomBytes(Math.min(4 * 2 ** 20, size - done)));
  fs.closeSync(fd);
}

/** Installs bench/webtorrent/'s own dependencies on first use (not Tiffin's: see its package.json). */
function ensureWebtorrent(): void {
  const dir = path.join(import.meta.dirname, "webtorrent");
  if (fs.existsSync(path.join(dir, "node_modules", "webtorrent", "package.json"))) return;
  say("webtorrent: installing bench/webtorrent's dependencies (npm install --ignore-scripts --prefix bench/webtorrent)");
  execFileSync("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", dir], { stdio: "inherit" });
}

