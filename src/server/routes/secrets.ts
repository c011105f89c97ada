// Users' secrets (`tiffin secret set|list|rm`): `PUT /v1/secrets/:ns/:name` seals the value with the
// server's key (secrets/box.ts) and stores it under `/secretvalues/<ns>/<name>` with the next
// version; `GET /v1/secrets` lists names, versions and dates; `DELETE` removes one. No route answers
// a value: only the agents of tasks that use a secret get it, in their assignments. Audited by
// dispatch (the route rules), with the name and version, never the value.

import { namespaceVisible } from "../http/namespaces.ts";
import type { JobSpec, SecretRecord, SecretView } from "../../model/index.ts";
import { pinSecrets, secretUses } from "../secrets/pins.ts";
import { storeVersion } from "./jobs.ts";
import { DefaultNamespace, ErrorCodes, formatSecretName, MaxSecretBytes, parseSecretName, secretSetSchema, secretView, TiffinError } from "../../model/index.ts";
import { casLoop } from "../context.ts";
import type { ServerContext } from "../context.ts";
import { parseBody } from "../http/bodies.ts";
import { readJsonObject, sendJson } from "../http/io.ts";
import type { Principal } from "../http/principal.ts";
import type { Router } from "../http/router.ts";
import { Kinds } from "../kinds.ts";

const bodyShape = '{"valueBase64": "aHVudGVyMg=="}';

function callerOf(p: Principal | undefined): Principal {
  // The route table admits only user tokens here; a missing principal is a wiring bug.
  if (p === undefined) throw new Error("secret route without a caller");
  return p;
}

/** The secret a path names; 400 for a bad name, or a namespace other than the default (until namespaces exist). */
function nameOf(params: Record<string, string>): { ns: string; name: string } {
  const text = `${params["ns"] ?? ""}/${params["name"] ?? ""}`;
  const parsed = parseSecretName(text);
  if (typeof parsed === "string") throw new TiffinError(ErrorCodes.BadRequest, `the secret name ${parsed}`, { hint: "name secrets NS/NAME, e.g. default/db-password" });
  if (parsed.ns !== DefaultNamespace) {
    throw new TiffinError(ErrorCodes.BadRequest, `secret ${text}: there is only the namespace "${DefaultNamespace}" yet`, { hint: `name it ${DefaultNamespace}/${parsed.name}` });
  }
  return parsed;
}

/** The value's bytes from the body; 400 when it is not base64 or too large. */
function valueOf(b64: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new TiffinError(ErrorCodes.BadRequest, `the value of ${what} is not base64`, { hint: `send ${bodyShape}` });
  const value = Buffer.from(b64, "base64");
  if (value.length > MaxSecretBytes) throw new TiffinError(ErrorCodes.TooLarge, `the value of ${what} is ${value.length} bytes, more than ${MaxSecretBytes}`, { hint: "secrets hold passwords, keys and certificates; larger files belong in a package" });
  return value;
}

/** The current spec of a live job, or null when it is removed or unknown. */
function currentSpec(ctx: ServerContext, job: string): JobSpec | null {
  const rec = ctx.mirror.jobs.get(job)?.value;
  if (!rec || rec.removedAt !== null) return null;
  return ctx.mirror.spec(job, rec.version)?.spec ?? null;
}

/** The live jobs whose current version uses secret `name` (`ns/name`), by name. */
function usersOf(ctx: ServerContext, name: string): string[] {
  return [...ctx.mirror.jobs.keys()].filter((job) => {
    const spec = currentSpec(ctx, job);
    return spec !== null && secretUses(spec).has(name);
  }).sort();
}

/** True when the stored secret opens to `value` (one that does not open is not the same). */
function sameValue(ctx: ServerContext, r: SecretRecord, value: Buffer): boolean {
  try {
    const cur = ctx.secrets.open(r);
    const same = cur.equals(value);
    cur.fill(0);
    return same;
  } catch {
    return false;
  }
}

/** Registers the secret routes. */
export function secretRoutes(r: Router, ctx: ServerContext): void {
  const m = ctx.mirror;

  r.add("PUT", "/v1/secrets/:ns/:name", "admin", async ({ req, res, params, principal, note }) => {
    const caller = callerOf(principal);
    const s = nameOf(params);
    const what = formatSecretName(s);
    const body = parseBody(secretSetSchema, await readJsonObject(req, bodyShape), `the secret ${what} is not valid`, `send ${bodyShape}`);
    const value = valueOf(body.valueBase64, what);
    // The same value again (config management re-running) is no new version: nothing restarts.
    const current = m.secretValues.get(what)?.value;
    if (current && sameValue(ctx, current, value)) {
      value.fill(0);
      note?.(`set secret ${what}: unchanged (version ${current.version})`);
      sendJson(res, 200, secretView(current) satisfies SecretView);
      return;
    }
    const key = Kinds.secretValue.key(s.ns, s.name);
    const box: { written: SecretRecord | null } = { written: null };
    await casLoop(ctx, `set secret ${what}`, () => {
      const cur = m.secretValues.get(what)?.value;
      const now = ctx.clock.now();
      const version = (cur?.version ?? 0) + 1;
      const written: SecretRecord = { ns: s.ns, name: s.name, version, createdAt: cur?.createdAt ?? now, updatedAt: now, updatedBy: caller.actor, sealed: ctx.secrets.seal(s.ns, s.name, version, value) };
      box.written = written;
      return { compare: [{ key, target: "modRevision", op: "==", value: m.modRevision(key) }], success: [{ type: "put", key, value: Kinds.secretValue.encode(written) }] };
    });
    value.fill(0);
    const rec = box.written;
    if (rec === null) throw new Error("secret set wrote nothing");
    // Rotation: every live job that uses it gets a new version pinning the new secret version, which
    // the rollout machinery rolls out like any other version (its phases, budget and checks).
    const rolled: string[] = [];
    for (const job of usersOf(ctx, what)) {
      const r = await storeVersion(ctx, () => {
        const cur = currentSpec(ctx, job);
        if (!cur) throw new TiffinError(ErrorCodes.Conflict, `job ${job} was removed while secret ${what} was set`, { hint: "nothing to roll" });
        return pinSecrets(cur, m.secretValues);
      }, { by: caller.actor.name, message: `secret ${what} set to version ${rec.version}` }, "rolled for a secret");
      if (r.changed) rolled.push(`${job}@${r.version}`);
    }
    note?.(`set secret ${what} (version ${rec.version})${rolled.length > 0 ? `; rolled ${rolled.join(" ")}` : ""}`);
    sendJson(res, 200, secretView(rec) satisfies SecretView);
  });

  r.add("GET", "/v1/secrets", "admin", async ({ res, principal, namespace }) => {
    const visible = namespaceVisible(principal, namespace, "secrets");
    const all = [...m.secretValues.values()].filter((e) => visible(e.value.ns)).map((e) => secretView(e.value));
    sendJson(res, 200, all.sort((a, b) => a.ns.localeCompare(b.ns) || a.name.localeCompare(b.name)) satisfies SecretView[]);
  });

  r.add("DELETE", "/v1/secrets/:ns/:name", "admin", async ({ res, params, note }) => {
    const s = nameOf(params);
    const what = formatSecretName(s);
    const found = m.secretValues.get(what)?.value;
    if (!found) throw new TiffinError(ErrorCodes.NotFound, `secret ${what} not found`, { hint: "`tiffin secret list` shows the secrets" });
    const users = usersOf(ctx, what);
    if (users.length > 0) {
      throw new TiffinError(ErrorCodes.Conflict, `secret ${what} is used by job${users.length === 1 ? "" : "s"} ${users.join(", ")}`, { hint: "apply them without it (or remove them) first; their tasks could not start again without it" });
    }
    const key = Kinds.secretValue.key(s.ns, s.name);
    await casLoop(ctx, `remove secret ${what}`, () => {
      if (!m.secretValues.has(what)) return null;
      return { compare: [{ key, target: "modRevision", op: "==", value: m.modRevision(key) }], success: [{ type: "delete", key }] };
    });
    note?.(`removed secret ${what} (version ${found.version})`);
    sendJson(res, 200, secretView(found) satisfies SecretView);
  });
}
