// The cluster CA routes (issue 17, CA rotation; decisions in ../tls/rotation.ts, wire in
// src/api/ca-wire.ts): `GET /v1/ca` (the CAs, their roles, hosts per CA), `GET /v1/ca/trust` (what a
// client trusts: `tiffin context refresh-ca`), `POST /v1/ca/rotate` and `POST /v1/ca/finish`
// (admin; audited with the hashes). A write compares the set's modRevision, then this server takes
// the new set at once (others within their poll, tls/live.ts). 404 on a server without TLS.

import { X509Certificate } from "node:crypto";
import { caFinishBodySchema, caRotateBodySchema } from "../../api/ca-wire.ts";
import type { CaFinished, CaRotated, CaStatus, CaTrust } from "../../api/ca-wire.ts";
import { caHashOf } from "../../api/tls.ts";
import { ErrorCodes, TiffinError } from "../../model/index.ts";
import type { ServerContext } from "../context.ts";
import { readJsonObject, sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { caOf, createCa, readCaSet, writeCaSet } from "../tls/ca.ts";
import { hostCertRecords } from "../tls/host-certs.ts";
import type { LiveCa } from "../tls/live.ts";
import { finishCheck, hostsByCa, hostsNotMoved, rolesOf, rotateCheck } from "../tls/rotation.ts";
import type { HostCa, Refusal } from "../tls/rotation.ts";

const noTls = (): TiffinError => new TiffinError(ErrorCodes.NotFound, "this server runs without TLS: there is no cluster CA", { hint: "start the servers with --tls" });

function liveOf(ctx: ServerContext): LiveCa {
  if (ctx.ca === undefined) throw noTls();
  return ctx.ca;
}

function refuse(r: Refusal): never {
  throw new TiffinError(ErrorCodes.Conflict, r.refused, { hint: r.hint });
}

async function hostsOf(ctx: ServerContext): Promise<HostCa[]> {
  const records = await hostCertRecords(ctx.store);
  return [...ctx.mirror.hosts.entries()].map(([id, h]) => ({ id, name: h.value.name, live: ctx.liveness.status(id) !== "down", caHash: records.get(id)?.caHash ?? null }));
}

const subjectOf = (pem: string): string => new X509Certificate(pem).subject.replace(/\n/g, ", ");

/** Registers the CA routes. */
export function caRoutes(r: Router, ctx: ServerContext): void {
  r.add("GET", "/v1/ca", "admin", async ({ res }) => {
    const live = liveOf(ctx);
    await live.refresh();
    const roles = rolesOf(live.set);
    const hosts = await hostsOf(ctx);
    const counts = hostsByCa(hosts);
    const signing = caHashOf(roles.signsHosts.certPem);
    const serving = caHashOf(roles.serves.certPem);
    const cas = roles.trust.map((pem) => {
      const hash = caHashOf(pem);
      return { hash, subject: subjectOf(pem), notAfter: Date.parse(new X509Certificate(pem).validTo), signsHosts: hash === signing, serves: hash === serving, hosts: counts.byHash[hash] ?? 0 };
    });
    const body: CaStatus = { rotating: live.set.previous !== null, cas, hosts: hosts.sort((a, b) => a.name.localeCompare(b.name)), unknownHosts: counts.unknown, notMoved: hostsNotMoved(hosts, signing).map((h) => h.name) };
    sendJson(res, 200, body);
  });

  r.add("GET", "/v1/ca/trust", "admin", async ({ res }) => {
    const live = liveOf(ctx);
    await live.refresh();
    const roles = rolesOf(live.set);
    sendJson(res, 200, { trust: roles.trust.map((certPem) => ({ hash: caHashOf(certPem), certPem })), serving: caHashOf(roles.serves.certPem), signing: caHashOf(roles.signsHosts.certPem) } satisfies CaTrust);
  });

  r.add("POST", "/v1/ca/rotate", "admin", async ({ req, res, note }) => {
    const live = liveOf(ctx);
    const parsed = caRotateBodySchema.safeParse(await readJsonObject(req, '{"certPem"?: string, "keyPem"?: string}'));
    if (!parsed.success) throw new TiffinError(ErrorCodes.BadRequest, `CA rotation: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ")}`, { hint: 'send {} to have a CA made, or {"certPem": "...", "keyPem": "..."}' });
    const { certPem, keyPem } = parsed.data;
    if ((certPem === undefined) !== (keyPem === undefined)) throw new TiffinError(ErrorCodes.BadRequest, "CA rotation: certPem and keyPem go together", { hint: "give both (--ca-cert and --ca-key) or neither" });
    const got = await readCaSet(ctx.store);
    if (got === null) throw noTls();
    const now = ctx.clock.now();
    const next = certPem !== undefined && keyPem !== undefined ? { certPem, keyPem } : await createCa(now, `tiffin cluster CA ${new Date(now).toISOString()}`);
    const nextCa = await caOf(next, "the new CA");
    const currentHash = caHashOf(got.set.current.certPem);
    const refusal = rotateCheck(got.set, { current: currentHash, next: nextCa.hash }, { current: subjectOf(got.set.current.certPem), next: subjectOf(next.certPem) });
    if (refusal !== null) refuse(refusal);
    if (!(await writeCaSet(ctx.store, { current: next, previous: got.set.current }, got.modRevision))) {
      throw new TiffinError(ErrorCodes.Conflict, "the cluster CA changed while rotating it", { hint: "look at tiffin ca status and try again" });
    }
    await live.refresh();
    note?.(`rotated the cluster CA: ${currentHash} -> ${nextCa.hash} (both trusted until --finish)`);
    ctx.log.info({ previous: currentHash, current: nextCa.hash }, "cluster CA rotation started");
    sendJson(res, 200, { previous: currentHash, current: nextCa.hash, subject: subjectOf(next.certPem) } satisfies CaRotated);
  });

  r.add("POST", "/v1/ca/finish", "admin", async ({ req, res, note }) => {
    const live = liveOf(ctx);
    const parsed = caFinishBodySchema.safeParse(await readJsonObject(req, '{"force"?: boolean}'));
    if (!parsed.success) throw new TiffinError(ErrorCodes.BadRequest, `CA rotation finish: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ")}`, { hint: 'send {} or {"force": true}' });
    const force = parsed.data.force === true;
    const got = await readCaSet(ctx.store);
    if (got === null) throw noTls();
    const currentHash = caHashOf(got.set.current.certPem);
    const hosts = await hostsOf(ctx);
    const refusal = finishCheck(got.set, hosts, currentHash, force);
    if (refusal !== null) refuse(refusal);
    const dropped = got.set.previous === null ? currentHash : caHashOf(got.set.previous.certPem);
    const forced = hostsNotMoved(hosts, currentHash).map((h) => h.name);
    if (!(await writeCaSet(ctx.store, { current: got.set.current, previous: null }, got.modRevision))) {
      throw new TiffinError(ErrorCodes.Conflict, "the cluster CA changed while finishing its rotation", { hint: "look at tiffin ca status and try again" });
    }
    await live.refresh();
    note?.(`finished the CA rotation: dropped ${dropped}, kept ${currentHash}${forced.length > 0 ? `; forced past ${forced.join(", ")}` : ""}`);
    ctx.log.info({ dropped, current: currentHash, forced }, "cluster CA rotation finished");
    sendJson(res, 200, { dropped, current: currentHash, forced } satisfies CaFinished);
  });
}
