// `tiffin server`: the control plane in the foreground until SIGINT/SIGTERM.

import type { Command } from "commander";
import { resolve, join } from "node:path";
import { ErrorCodes, TiffinError } from "../../model/errors.ts";
import type { RecommendPolicy } from "../../model/recommendation.ts";
import { parseDuration } from "../../spec/api.ts";
import type { CliContext } from "../command.ts";
import { waitForSignal } from "../command.ts";
import { envForEveryFlag } from "../env-flags.ts";
import { usageError } from "../errors.ts";
import { daemonLogger, logLevelOption, parseLogLevel } from "../log-level.ts";
import { registerInstall } from "./install.ts";
import { registerMigrate } from "./migrate.ts";
import { parseStoreFlag } from "./store-flag.ts";
import { parseTlsFlags, tlsOptions } from "./tls-flags.ts";
import type { TlsFlags } from "./tls-flags.ts";

/** Default listen address of `tiffin server` and `tiffin dev`. */
export const defaultListen = "127.0.0.1:7070";

/** What the server prints once it listens. */
export function renderServerStarted(url: string, dataDir: string): string {
  return [
    `tiffin server listening on ${url}`,
    `  data:        ${dataDir}`,
    `  admin token: ${join(dataDir, "admin.token")}  (TIFFIN_ADDR=${url} TIFFIN_TOKEN=$(cat ${join(dataDir, "admin.token")}) tiffin jobs)`,
    `  join token:  ${join(dataDir, "join.token")}  (tiffin agent --server ${url} --join-token-file ${join(dataDir, "join.token")} ...)`,
    "",
  ].join("\n");
}

export { parseStoreFlag } from "./store-flag.ts";

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  const server = program
    .command("server")
    .option("--data <dir>", "state directory (SQLite file, tokens); required")
    .option("--listen <host:port>", "address to serve the API on", defaultListen)
    .option("--store <url>", "state store: sqlite:PATH or etcd://host:port,host:port[/prefix] (default: SQLite in the data dir)")
    .option("--advertise <url>", "URL the other servers reach this one at (default: the listen address)")
    .option("--remediation <file>", "machine check remediation rules and budget, YAML or JSON (docs/operations.md, \"Machine checks and remediation\"; default: none, checks are only shown)")
    .option("--dns-listen <host:port>", "answer DNS for NAME.service.tiffin on this address, UDP and TCP (default: no DNS)")
    .option("--secrets-key <file>", "the key secrets are sealed with, 32 bytes base64, created 0600 when absent; every server sharing a store needs the same file (default: DATA/secrets.key)")
    .option("--audit-keep-days <n>", "keep `tiffin exec` audit entries this many days (0: no limit)", "90")
    .option("--audit-keep <n>", "keep at most this many audit entries, the newest (0: no limit)", "100000")
    .option("--metrics-keep <duration>", "keep task metric points (one a minute a task, in the store) this long", "24h")
    .option("--metrics-full <duration>", "keep task metric points one a minute this long, then one per 10 minutes (downsampled, within --metrics-keep)", "1h")
    .option("--peer-token-rotate <duration>", "how often the leader rotates the token agents require of each other for package pieces (the previous one stays accepted until the next rotation)", "24h")
    .option("--recommend-window <duration>", "usage history the recommender looks at (at most 24h)", "24h")
    .option("--recommend-percentile <p>", "the CPU percentile recommended, above 0 and at most 1", "0.95")
    .option("--recommend-headroom <share>", "added above the usage seen (0.15: 15% more), 0 to 10", "0.15")
    .option("--recommend-min-samples <n>", "no recommendation with fewer usage samples (one per task per --usage-bucket)", "60")
    .option("--adapt-check <duration>", "how often jobs with resources.adapt are looked at", "5m")
    .option("--usage-bucket <duration>", "one usage sample per task per this long in the history (tests shorten it)", "1m")
    .addOption(logLevelOption())
    .description("run the control plane (several servers may share one etcd store: one leads, all serve)");
  tlsOptions(server);
  envForEveryFlag(server);
  registerMigrate(server, ctx);
  registerInstall(server, "server", ctx);
  server.action(async (opts: { data?: string; listen: string; store?: string; advertise?: string; dnsListen?: string; remediation?: string; secretsKey?: string; auditKeepDays: string; auditKeep: string; metricsKeep: string; metricsFull: string; peerTokenRotate: string; logLevel: string } & RecommendFlags & TlsFlags) => {
    const log = daemonLogger("server", parseLogLevel(opts.logLevel));
    if (!opts.data) throw new TiffinError(ErrorCodes.Usage, "tiffin server needs --data <dir>", { hint: "e.g. tiffin server --data /var/lib/tiffin" });
    const keepDays = Number(opts.auditKeepDays);
    const keepEntries = Number(opts.auditKeep);
    if (!(Number.isFinite(keepDays) && keepDays >= 0) || !(Number.isInteger(keepEntries) && keepEntries >= 0)) {
      throw new TiffinError(ErrorCodes.Usage, `--audit-keep-days and --audit-keep take numbers >= 0, got ${opts.auditKeepDays} and ${opts.auditKeep}`, { hint: "e.g. --audit-keep-days 30 --audit-keep 50000" });
    }
    const rotateMs = parseDuration(opts.peerTokenRotate);
    if (rotateMs === null || rotateMs < 60_000) {
      throw new TiffinError(ErrorCodes.Usage, `--peer-token-rotate takes a duration of at least 1m, got "${opts.peerTokenRotate}"`, { hint: "e.g. --peer-token-rotate 24h; agents learn a new token within their announce interval (30 s)" });
    }
    const recommend = parseRecommendFlags(opts);
    const metricsKeepMs = parseDuration(opts.metricsKeep);
    if (metricsKeepMs === null || metricsKeepMs < 600_000) {
      throw new TiffinError(ErrorCodes.Usage, `--metrics-keep takes a duration of at least 10m, got "${opts.metricsKeep}"`, { hint: "e.g. --metrics-keep 24h (or TIFFIN_METRICS_KEEP=7d); points are written in 10-minute blocks" });
    }
    const metricsFullMs = parseDuration(opts.metricsFull);
    if (metricsFullMs === null || metricsFullMs < 600_000) {
      throw new TiffinError(ErrorCodes.Usage, `--metrics-full takes a duration of at least 10m, got "${opts.metricsFull}"`, { hint: "e.g. --metrics-full 6h (or TIFFIN_METRICS_FULL=6h): points older than that are kept one per 10 minutes" });
    }
    const tls = parseTlsFlags(opts);
    ctx.daemon();
    const dataDir = resolve(opts.data);
    const spec = parseStoreFlag(opts.store);
    const { openStore, startServer, loadRemediationConfig } = await import("../../server/main.ts");
    const remediation = opts.remediation === undefined ? undefined : loadRemediationConfig(opts.remediation);
    // A store named by --store is ours to close; the default one the server opens and closes.
    const store = spec ? await openStore(spec) : null;
    const running = await startServer({ dataDir, log, listen: opts.listen, auditRetention: { keepDays, keepEntries }, swarm: { peerTokenRotateMs: rotateMs }, recommend: recommend.policy, usageBucketMs: recommend.usageBucketMs, taskMetrics: { keepMs: metricsKeepMs, fullMs: metricsFullMs }, tls, ...(store ? { store } : {}), ...(opts.advertise ? { advertise: opts.advertise } : {}), ...(opts.dnsListen ? { dnsListen: opts.dnsListen } : {}), ...(remediation ? { remediation } : {}), ...(opts.secretsKey ? { secretsKeyFile: resolve(opts.secretsKey) } : {}) }).catch(async (err: unknown) => {
      await store?.close();
      throw err;
    });
    const sig = waitForSignal(["SIGINT", "SIGTERM"]);
    ctx.io.out(renderServerStarted(running.url, dataDir));
    if (running.ca !== null) ctx.io.out(`  TLS: cluster CA ${running.ca.hash} (${join(dataDir, "ca.crt")}): tiffin agent --ca-hash ${running.ca.hash}; tiffin context add NAME --server ${running.url} --ca-hash ${running.ca.hash}\n`);
    else if (opts.tls === false) ctx.io.out("  WARNING: plain HTTP (--no-tls): tokens, logs and exec travel in clear; start without --no-tls for HTTPS with a cluster CA\n");
    else ctx.io.out("  plain HTTP on loopback only (--tls for HTTPS; any other --listen address speaks HTTPS by default)\n");
    if (running.dns !== null) ctx.io.out(`  DNS: ${running.dns} (UDP and TCP): dig @${running.dns.replace(/:(\d+)$/, " -p $1")} NAME.service.tiffin\n`);
    const s = await sig.promise;
    log.info({ signal: s }, `${s}: stopping the server`);
    await running.close();
    await store?.close();
    sig.dispose();
  });
}

/** The recommender's flags of `tiffin server`, as commander gives them. */
export interface RecommendFlags {
  recommendWindow: string;
  recommendPercentile: string;
  recommendHeadroom: string;
  recommendMinSamples: string;
  adaptCheck: string;
  usageBucket: string;
}

/** The recommender's settings from the server's flags; a usage error names the flag that is wrong. */
export function parseRecommendFlags(f: RecommendFlags): { policy: RecommendPolicy & { adaptCheckMs: number }; usageBucketMs: number } {
  const duration = (flag: string, text: string, minMs: number, maxMs: number): number => {
    const ms = parseDuration(text);
    if (ms === null || ms < minMs || ms > maxMs) throw usageError(`${flag} takes a duration from ${minMs / 1000}s to ${maxMs / 3_600_000}h, got "${text}"`, `e.g. ${flag} 1h`);
    return ms;
  };
  const number = (flag: string, text: string, ok: (n: number) => boolean, range: string): number => {
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n) || !ok(n)) throw usageError(`${flag} takes ${range}, got "${text}"`);
    return n;
  };
  return {
    policy: {
      windowMs: duration("--recommend-window", f.recommendWindow, 1000, 24 * 3_600_000),
      percentile: number("--recommend-percentile", f.recommendPercentile, (n) => n > 0 && n <= 1, "a number above 0 and at most 1"),
      headroom: number("--recommend-headroom", f.recommendHeadroom, (n) => n >= 0 && n <= 10, "a number from 0 to 10"),
      minSamples: number("--recommend-min-samples", f.recommendMinSamples, (n) => Number.isInteger(n) && n >= 1, "a whole number of at least 1"),
      adaptCheckMs: duration("--adapt-check", f.adaptCheck, 1000, 24 * 3_600_000),
    },
    usageBucketMs: duration("--usage-bucket", f.usageBucket, 1000, 3_600_000),
  };
}
