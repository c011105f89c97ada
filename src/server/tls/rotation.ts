// CA rotation (issue 17): the decisions, pure and table-tested (rotation.test.ts). The cluster's CAs
// are one stored set (`/secrets/ca`): `current`, which signs host certificates, and during a rotation
// `previous`, the CA being retired. Trust is distributed before it is needed, as Kubernetes' and
// Consul's manual rotations do, in two steps made one command each:
//
//   stable [A]  ── tiffin ca rotate ──>  rotating {previous A, current B}  ── tiffin ca rotate --finish ──>  stable [B]
//     servers serve under A                servers still serve under A            servers serve under B
//     hosts' certificates from A           hosts renew under B at once (told     hosts trust B only
//     trust: A                             in heartbeats), trust: A and B
//
// Servers keep serving under the old CA while rotating, so an agent that has not learnt B yet still
// verifies them; `--finish` switches them once every live host holds a certificate from B (and with
// it the bundle, which came in the same answer).

/** A CA as stored: certificate and key (PEM). */
export interface PemPair {
  certPem: string;
  keyPem: string;
}

/** The stored set of the cluster's CAs. */
export interface CaSet {
  /** Signs host certificates (and serving certificates once no rotation is in progress). */
  current: PemPair;
  /** The CA being retired: still trusted, and the servers' certificates still come from it. */
  previous: PemPair | null;
}

/** What each CA of a set does. Pure. */
export interface CaRoles {
  /** Signs hosts' client certificates. */
  signsHosts: PemPair;
  /** Signs the servers' serving certificates. */
  serves: PemPair;
  /** Every CA a server or agent trusts (PEM), the retired one first. */
  trust: string[];
}

/** The roles of a set's CAs. Pure. */
export function rolesOf(set: CaSet): CaRoles {
  return { signsHosts: set.current, serves: set.previous ?? set.current, trust: set.previous === null ? [set.current.certPem] : [set.previous.certPem, set.current.certPem] };
}

/** A host as the finish check and the status see it: its liveness and the CA of its newest certificate. */
export interface HostCa {
  id: string;
  name: string;
  /** False once the host is down (its lease expired): it cannot hold up a finish. */
  live: boolean;
  /** Hash of the CA that signed its newest certificate; null when none is known (never got one). */
  caHash: string | null;
}

/** A refusal, with what the user can do. */
export interface Refusal {
  refused: string;
  hint: string;
}

/** Whether a rotation to a CA of hash `nextHash` (subject `nextSubject`) may start. Pure. */
export function rotateCheck(set: CaSet, hashes: { current: string; next: string }, subjects: { current: string; next: string }): Refusal | null {
  if (set.previous !== null) return { refused: "a CA rotation is already in progress", hint: "finish it first: tiffin ca rotate --finish (tiffin ca status shows which hosts have moved)" };
  if (hashes.next === hashes.current) return { refused: `the new CA is the current one (${hashes.current})`, hint: "give another CA with --ca-cert/--ca-key, or none to have one made" };
  // Two trusted CAs of one subject make chain building pick either: an issuer must be told apart by name.
  if (subjects.next === subjects.current) return { refused: `the new CA has the current one's subject (${subjects.current})`, hint: "give a CA with another subject (CN)" };
  return null;
}

/** The live hosts that still hold no certificate from the current CA (a finish would cut them off). Pure. */
export function hostsNotMoved(hosts: readonly HostCa[], currentHash: string): HostCa[] {
  return hosts.filter((h) => h.live && h.caHash !== currentHash).sort((a, b) => a.name.localeCompare(b.name));
}

/** Whether the rotation may be finished; `force` finishes past hosts that have not moved. Pure. */
export function finishCheck(set: CaSet, hosts: readonly HostCa[], currentHash: string, force: boolean): Refusal | null {
  if (set.previous === null) return { refused: "no CA rotation is in progress", hint: "start one with tiffin ca rotate" };
  const pending = hostsNotMoved(hosts, currentHash);
  if (pending.length > 0 && !force) {
    return {
      refused: `${pending.length} live host(s) hold no certificate from the new CA yet: ${pending.map((h) => h.name).join(", ")}`,
      hint: "wait until they renew (they are told in their next heartbeat; tiffin ca status), or --force: they would have to join again with --ca-hash of the new CA",
    };
  }
  return null;
}

/** The hosts holding a certificate from each CA hash, and those with none known. Pure. */
export function hostsByCa(hosts: readonly HostCa[]): { byHash: Record<string, number>; unknown: number } {
  const byHash: Record<string, number> = {};
  let unknown = 0;
  for (const h of hosts) {
    if (h.caHash === null) unknown++;
    else byHash[h.caHash] = (byHash[h.caHash] ?? 0) + 1;
  }
  return { byHash, unknown };
}
