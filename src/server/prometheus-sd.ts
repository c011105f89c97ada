// Prometheus HTTP service discovery (`GET /v1/prometheus/sd`, Prometheus's http_sd_config format): one
// target group per running task whose job declares a `metrics` endpoint, so an existing Prometheus
// scrapes every task directly, with job/namespace/index/host/version labels (the job's name, not its id) as the server's own
// `tiffin_task_*` series. Pure: the route hands it the mirror's running attempts.
import { isolationOf, splitJobId } from "../model/index.ts";
import type { JobSpec } from "../model/index.ts";

/** One running attempt as the discovery needs it. */
export interface SdAttempt {
  job: string;
  index: number;
  version: number;
  attemptId: string;
  hostId: string;
  hostName: string;
  /** The agent's `host:port` (its own listener); the task's port is on the same host. */
  hostAddress: string;
  ports: Record<string, number>;
  spec: JobSpec;
}

/** One target group of http_sd: `targets` are `host:port`, `labels` become target labels
 * (`__metrics_path__` sets the path; `__meta_*` are for relabelling and dropped after). */
export interface SdTargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** The host part of `host:port` or `[v6]:port`, bracketed again for IPv6 so a port can follow. */
export function hostPartOf(address: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (v6) return `[${v6[1] ?? ""}]`;
  const colons = address.split(":").length - 1;
  if (colons > 1) return `[${address}]`; // a bare IPv6 address
  return colons === 1 ? address.slice(0, address.indexOf(":")) : address;
}

/** The target groups of `attempts` (running ones, the caller's choice), by job then index. Tasks in a
 * private network namespace are left out: their ports are not reachable from outside the sandbox. */
export function prometheusSdOf(attempts: readonly SdAttempt[]): SdTargetGroup[] {
  const out: { key: [string, number]; group: SdTargetGroup }[] = [];
  for (const a of attempts) {
    const endpoint = a.spec.metrics;
    const port = endpoint ? a.ports[endpoint.port] : undefined;
    if (!endpoint || port === undefined) continue;
    const iso = isolationOf(a.spec);
    if (iso.isolation === "sandbox" && iso.network === "private") continue;
    out.push({
      key: [a.job, a.index],
      group: {
        targets: [`${hostPartOf(a.hostAddress)}:${port}`],
        labels: {
          // The job as users name it, its namespace apart (never the internal id `NAME.NS`).
          job: splitJobId(a.job).name,
          namespace: splitJobId(a.job).namespace,
          index: String(a.index),
          host: a.hostName,
          version: String(a.version),
          __metrics_path__: endpoint.path,
          __meta_tiffin_attempt: a.attemptId,
          __meta_tiffin_host_id: a.hostId,
          __meta_tiffin_port: endpoint.port,
        },
      },
    });
  }
  return out.sort((x, y) => x.key[0].localeCompare(y.key[0]) || x.key[1] - y.key[1]).map((x) => x.group);
}
