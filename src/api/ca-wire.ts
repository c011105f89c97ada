// The wire of the cluster CA routes (issue 17, CA rotation; src/server/routes/ca.ts): `GET /v1/ca`
// (status), `GET /v1/ca/trust` (the CAs a client should trust), `POST /v1/ca/rotate`,
// `POST /v1/ca/finish`.

import { z } from "zod";

/** One CA of the cluster: its hash, subject, expiry, roles, and how many hosts hold a certificate from it. */
export const caViewSchema = z.object({
  hash: z.string(),
  subject: z.string(),
  notAfter: z.number(),
  /** Signs hosts' certificates now. */
  signsHosts: z.boolean(),
  /** The servers' certificates come from it now. */
  serves: z.boolean(),
  hosts: z.number().int().nonnegative(),
});

/** A host and the CA of its newest certificate (null: none known). */
export const hostCaViewSchema = z.object({ id: z.string(), name: z.string(), live: z.boolean(), caHash: z.string().nullable() });

/** `GET /v1/ca`. */
export const caStatusSchema = z.object({
  rotating: z.boolean(),
  cas: z.array(caViewSchema),
  hosts: z.array(hostCaViewSchema),
  /** Hosts with no certificate known (registered before TLS, or never asked for one). */
  unknownHosts: z.number().int().nonnegative(),
  /** Live hosts that still hold no certificate from the signing CA (a finish waits for them). */
  notMoved: z.array(z.string()),
});
/** The answer of `GET /v1/ca`. */
export type CaStatus = z.infer<typeof caStatusSchema>;

/** `GET /v1/ca/trust`: every CA to trust (PEM, with its hash), and which one the servers serve under. */
export const caTrustSchema = z.object({
  trust: z.array(z.object({ hash: z.string(), certPem: z.string() })),
  serving: z.string(),
  signing: z.string(),
});
/** The answer of `GET /v1/ca/trust`. */
export type CaTrust = z.infer<typeof caTrustSchema>;

/** The body of `POST /v1/ca/rotate`: the new CA as PEM, or nothing to have one made. */
export const caRotateBodySchema = z.object({ certPem: z.string().min(1).max(65_536), keyPem: z.string().min(1).max(65_536) }).partial();

/** `POST /v1/ca/rotate`: the CA now retired (still trusted) and the new one. */
export const caRotatedSchema = z.object({ previous: z.string(), current: z.string(), subject: z.string() });
/** The answer of `POST /v1/ca/rotate`. */
export type CaRotated = z.infer<typeof caRotatedSchema>;

/** The body of `POST /v1/ca/finish`. */
export const caFinishBodySchema = z.object({ force: z.boolean().exactOptional() });

/** `POST /v1/ca/finish`: the CA dropped, the one left, and the live hosts a --force cut off. */
export const caFinishedSchema = z.object({ dropped: z.string(), current: z.string(), forced: z.array(z.string()) });
/** The answer of `POST /v1/ca/finish`. */
export type CaFinished = z.infer<typeof caFinishedSchema>;
