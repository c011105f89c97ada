// The wire of `POST /v1/agent/certificate` (issue 17, mTLS): an agent sends a certificate request
// for a key it made and keeps, and gets its host's client certificate signed by the cluster CA.
// Called once after the join-token registration (with the host token) and again before the
// certificate expires (with the certificate itself).

import { z } from "zod";

/** The body: the caller's host id and its PKCS#10 request (PEM). */
export const certificateRequestSchema = z.object({
  hostId: z.string().min(1).max(253),
  csr: z.string().min(1).max(16_384),
});
/** The body of `POST /v1/agent/certificate`. */
export type CertificateRequest = z.infer<typeof certificateRequestSchema>;

/** The answer: the certificate (CN = host id), the CA that signed it (PEM), and when it expires (epoch ms). */
export const certificateAnswerSchema = z.object({
  certificate: z.string().min(1),
  ca: z.string().min(1),
  notAfter: z.number(),
  /** Every CA the cluster trusts now (PEM; during a CA rotation the old and the new one): the agent
   * trusts these from then on. Absent from servers before CA rotation. */
  trust: z.array(z.string().min(1)).max(8).exactOptional(),
});
/** The answer of `POST /v1/agent/certificate`. */
export type CertificateAnswer = z.infer<typeof certificateAnswerSchema>;
