// Which CA signed each host's newest client certificate (issue 17, CA rotation): written by
// `POST /v1/agent/certificate` at `/secrets/hostcert-<hostId>` (a secret kind: never streamed; it
// holds no secret, but it is cluster plumbing no watcher needs). `tiffin ca status` counts them and
// `tiffin ca rotate --finish` checks them; `tiffin hosts remove` leaves them (a later certificate
// of a host of the same id replaces the record).

import { z } from "zod";
import type { Store } from "../../state/store.ts";
import { Kinds, secretKey } from "../kinds.ts";

const prefix = "hostcert-";
const recordSchema = z.object({ caHash: z.string(), notAfter: z.number() });

/** One host's newest certificate: the hash of its CA and when it expires (epoch ms). */
export type HostCertRecord = z.infer<typeof recordSchema>;

/** Records the certificate just issued to `hostId`. */
export async function recordHostCert(store: Store, hostId: string, r: HostCertRecord): Promise<void> {
  await store.put(secretKey(`${prefix}${hostId}`), Kinds.secret.encode(JSON.stringify(r)));
}

/** Every host's record, by host id (records that do not decode are left out). */
export async function hostCertRecords(store: Store): Promise<Map<string, HostCertRecord>> {
  const at = secretKey(prefix);
  const out = new Map<string, HostCertRecord>();
  for (const kv of (await store.range(at)).kvs) {
    const d = Kinds.secret.decode(kv.key, kv.value);
    if (!d.ok) continue;
    let json: unknown;
    try {
      json = JSON.parse(d.value);
    } catch {
      continue;
    }
    const r = recordSchema.safeParse(json);
    if (r.success) out.set(kv.key.slice(at.length), r.data);
  }
  return out;
}
