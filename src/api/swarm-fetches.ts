// `GET /v1/swarm/fetches`: the swarm tracker's view of package fetches in flight (soft state in the
// leader's memory: lost with it and rebuilt as agents plan again). Declared once, as schemas; the
// types are what they infer. Browser-safe (zod only).
import { z } from "zod";

/** One host fetching (or, for a while, having fetched) a package. */
export const swarmFetcherSchema = z.object({
  /** Host id. */
  host: z.string(),
  /** Distinct pieces the host holds now. */
  held: z.number().int(),
  complete: z.boolean(),
  /** Epoch ms of the host's first plan for the package. */
  startedAt: z.number(),
  /** Epoch ms the tracker learnt the host holds every piece; null while it fetches. */
  finishedAt: z.number().nullable(),
  /** Pieces that arrived that the tracker had sent the host to a peer for. */
  fromPeers: z.number().int(),
  /** Pieces that arrived under the host's origin lease (sent by a server). */
  fromOrigin: z.number().int(),
  /** Pieces planned from peers and not arrived yet. */
  inflightPeers: z.number().int(),
  /** Pieces the host holds an origin lease for now. */
  inflightOrigin: z.number().int(),
});

/** One package with fetches in flight (or finished within `SwarmFetches.keepMs`). */
export const swarmPackageFetchesSchema = z.object({
  /** Package id (sha256 of its manifest). */
  id: z.string(),
  /** From the registry; null when the version is unknown to the store (removed meanwhile). */
  name: z.string().nullable(),
  version: z.string().nullable(),
  /** Distinct pieces of the package. */
  pieces: z.number().int(),
  /** Hosts holding every piece that are not fetchers here (announced a complete copy). */
  seeds: z.number().int(),
  /** Pieces the origin sent as fallbacks for pieces peers held (the tracker's budget). */
  originFallbacks: z.number().int(),
  /** Fetching hosts first, then finished ones; by host id within each. */
  fetchers: z.array(swarmFetcherSchema),
});

/** `GET /v1/swarm/fetches`. */
export const swarmFetchesSchema = z.object({
  /** The tracker's epoch (a new one: the leader changed and progress starts again from what agents tell). */
  epoch: z.string(),
  /** Epoch ms of the answer. */
  at: z.number(),
  /** How long a finished fetch stays listed, ms. */
  keepMs: z.number(),
  packages: z.array(swarmPackageFetchesSchema),
});

/** A host's progress in one package's swarm. */
export type SwarmFetcher = z.infer<typeof swarmFetcherSchema>;
/** One package's fetches. */
export type SwarmPackageFetches = z.infer<typeof swarmPackageFetchesSchema>;
/** `GET /v1/swarm/fetches`: package fetches in flight, per package and host. */
export type SwarmFetches = z.infer<typeof swarmFetchesSchema>;
