// Which endpoint a task offers, if any: the one decision of service discovery's registry, pure (no
// I/O, no clock reads), tested by the table in desired.test.ts. The controller (controller.ts) calls
// it for every task and writes the difference.
import { addressHost } from "../../model/index.ts";
import type { Attempt, Endpoint, Host, HostStatus, JobRecord, JobSpec, ServiceOffer, Task } from "../../model/index.ts";

/** What one task's endpoint depends on. */
export interface EndpointInput {
  job: JobRecord | null;
  task: Task;
  /** The spec of the version the attempt runs (its ports and health check). */
  spec: JobSpec | null;
  attempt: Attempt | null;
  host: Host | null;
  hostStatus: HostStatus;
  /** When the endpoint was first listed (kept across rewrites), or now for a new one. */
  since: number;
  /** The service this endpoint is of (servicesOf the spec); absent: the job's own service, every port. */
  offer?: ServiceOffer;
}

/** Why a task offers no endpoint (typed: tests and logs read it, nothing matches its text). */
export const NoEndpointReasons = [
  "job removed", "no ports", "not placed", "no attempt", "stopping", "not serving", "unhealthy", "host not up", "host unknown", "ports unknown",
] as const;
/** One of NoEndpointReasons. */
export type NoEndpointReason = (typeof NoEndpointReasons)[number];

/** The task's endpoint, or why it has none. */
export type EndpointDecision = { ok: true; endpoint: Endpoint } | { ok: false; reason: NoEndpointReason };

/**
 * The endpoint of a task: listed while its current attempt is meant to run and serves (healthy, or
 * running when the spec has no health check) on a host that is up. Removed the moment any of that
 * stops holding: a failed health check ("unhealthy"), a planned stop (a rollout, a drain or a scale
 * down sets the attempt's `desired` to stop: "stopping"), an exit, a host suspect or down.
 */
export function desiredEndpoint(i: EndpointInput): EndpointDecision {
  const no = (reason: NoEndpointReason): EndpointDecision => ({ ok: false, reason });
  if (i.job === null || i.job.removedAt !== null) return no("job removed");
  if (i.spec === null || i.spec.ports.length === 0) return no("no ports");
  if (i.task.hostId === null) return no("not placed");
  const a = i.attempt;
  if (a === null || a.id !== i.task.attemptId) return no("no attempt");
  if (a.desired !== "run") return no("stopping");
  if (a.state === "unhealthy") return no("unhealthy");
  const serving = a.state === "healthy" || (a.state === "running" && i.spec.health === null);
  if (!serving) return no("not serving");
  if (i.host === null) return no("host unknown");
  if (i.hostStatus !== "up" && i.hostStatus !== "upgrading") return no("host not up");
  const ports: Endpoint["ports"] = [];
  for (const name of i.offer?.ports ?? i.spec.ports) {
    const port = a.ports[name];
    if (port === undefined) return no("ports unknown");
    ports.push({ name, port });
  }
  return {
    ok: true,
    endpoint: {
      service: i.offer?.name ?? i.task.job, job: i.task.job, index: i.task.index, version: a.version, attemptId: a.id, hostId: a.hostId,
      host: i.host.name, address: addressHost(i.host.address), ports, state: a.state === "healthy" ? "healthy" : "running",
      labels: i.host.labels, since: i.since,
    },
  };
}

/** True when two endpoints list the same thing (`since` aside): no rewrite is needed. Asked of every
 * task on every pass, so without serializing: ports in order, labels in order of their keys. */
export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.service === b.service && a.index === b.index && a.version === b.version && a.attemptId === b.attemptId && a.hostId === b.hostId &&
    a.host === b.host && a.address === b.address && a.state === b.state &&
    a.ports.length === b.ports.length && a.ports.every((p, i) => p.name === b.ports[i]?.name && p.port === b.ports[i]?.port) &&
    sameLabels(a.labels, b.labels);
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}
