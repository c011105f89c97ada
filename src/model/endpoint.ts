// Service discovery: the endpoints of a service (issue 15). A task's named ports are one endpoint of
// its job's service while the task serves: healthy (or running, with no health check), its attempt
// still meant to run, its host up and not suspect. The leader writes them as tasks change
// (server/endpoints/), so every watcher and every server sees one ordered history of them.
import { z } from "zod";

/** Why an endpoint is listed: its task passed its health check, or runs and has none. */
export const EndpointStates = ["healthy", "running"] as const;
/** One of EndpointStates. */
export type EndpointState = (typeof EndpointStates)[number];

/** One serving task of a service (`/endpoints/<service>/<index>`). */
export const endpointSchema = z.object({
  /** The service's name: its job's name, or one of the job's named `services`. */
  service: z.string(),
  job: z.string(),
  /** The task's index in its job. */
  index: z.number(),
  /** The job version the task runs. */
  version: z.number(),
  /** The attempt serving it. */
  attemptId: z.string(),
  hostId: z.string(),
  /** The host's name, for people. */
  host: z.string(),
  /** The IP address (or name) clients connect to: the host's, from its agent address. */
  address: z.string(),
  /** The task's named ports on `address`, in the spec's order (the first is the service's port). */
  ports: z.array(z.object({ name: z.string(), port: z.number() })),
  state: z.enum(EndpointStates),
  /** The host's labels (rack, zone...), so clients can prefer near endpoints. */
  labels: z.record(z.string(), z.string()),
  /** When the server listed it (epoch ms). */
  since: z.number(),
});
/** One serving task of a service (endpointSchema). */
export type Endpoint = z.infer<typeof endpointSchema>;

/** A service and how many endpoints it has (`GET /v1/services`). */
export const serviceSummarySchema = z.object({
  name: z.string(),
  /** The service's namespace (absent from servers before namespaces: "default"); `name`, `job` and
   * `uses` are as a job of that namespace writes them (`NS/NAME` for another namespace's). */
  namespace: z.string().exactOptional(),
  endpoints: z.number(),
  /** The port names its endpoints offer. */
  ports: z.array(z.string()),
  /** The job offering it, when that is not the service's own name (a job's named `services`). */
  job: z.string().exactOptional(),
  /** The services its own tasks use (its spec's `uses`), so `tiffin plan` can check the dependency
   * graph; absent from servers before `uses` existed. */
  uses: z.array(z.string()).exactOptional(),
});
/** A service and how many endpoints it has. */
export type ServiceSummary = z.infer<typeof serviceSummarySchema>;

/** The address part of an agent address `host:port` or `[v6]:port` (the whole text when it has no port). */
export function addressHost(address: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (v6?.[1] !== undefined) return v6[1];
  const colon = address.lastIndexOf(":");
  return colon > 0 && address.indexOf(":") === colon ? address.slice(0, colon) : address;
}
