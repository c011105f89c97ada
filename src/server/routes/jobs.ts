// Job endpoints: list, apply, plan (dry run), status, remove, versions, revert, scale.

import { z } from "zod";
import type { ApplyResult, PlanResult } from "../../api/types.ts";
import { cliJob, DefaultNamespace, diffJson, ErrorCodes, quoteId, splitJobId, TiffinError } from "../../model/index.ts";
import { namespaceFilter } from "../http/namespaces.ts";
import { apiNamed, apiSpec, apiTask, apiVersion, storedSpec } from "./job-scope.ts";
import type { JobRecord, JobSpec, JobVersion, Task, VersionNote } from "../../model/index.ts";
import { defaultPhasesOf, planPhases } from "../reconcile/rollout-phases.ts";
import { everyHostSlotsOf, runningSlots } from "../reconcile/every-host-input.ts";
import { planPinned } from "../reconcile/every-host-place.ts";
import { phaseTasks, policyOf } from "../reconcile/rollout-start.ts";
import { checkJobSpec, decompileJob } from "../../spec/api.ts";
import { casLoop } from "../context.ts";
import type { ServerContext } from "../context.ts";
import { parseBody } from "../http/bodies.ts";
import { readJsonObject, sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { stableJson } from "../keys.ts";
import { jobKey, Kinds, packageKey, versionKey } from "../kinds.ts";
import type { Mirror } from "../mirror.ts";
import { usageByHost } from "../reconcile/commit.ts";
import { inPlaceQuery } from "../reconcile/decide.ts";
import { fitsInPlace, shiftLoad } from "../../scheduler/api.ts";
import type { InPlaceLoad } from "../../scheduler/api.ts";
import { schedHostOf, schedHosts } from "../reconcile/inputs.ts";
import { buildIndex, planJob } from "../reconcile/place.ts";
import { checkServicesAtApply } from "../endpoints/apply-check.ts";
import { checkAfterAtApply } from "../after-check.ts";
import type { PlacementNeed } from "../reconcile/types.ts";
import { planTaskChange } from "../reconcile/plan-tasks.ts";
import { replaceCauses } from "../reconcile/version-change.ts";
import { neverFits } from "../../scheduler/never-fits.ts";
import { jobStatus, jobSummaries } from "../views.ts";
import { pinSpec } from "./package-pins.ts";
import { restartTxn } from "./restart-txn.ts";

const SpecBody = "{\"spec\": JobSpec} as `tiffin plan`/`tiffin apply` send it";

/** Registers the job routes. */
export function jobRoutes(r: Router, ctx: ServerContext): void {
  const m = ctx.mirror;
  r.add("GET", "/v1/jobs", "admin", async ({ res, principal, namespace }) => {
    const visible = namespaceFilter(principal, namespace);
    sendJson(res, 200, jobSummaries(m).filter((j) => visible(j.name)).map(apiNamed));
  });

  r.add("POST", "/v1/jobs", "admin", async ({ req, res, namespace }) => {
    const body = await readJsonObject(req, SpecBody);
    const note = noteOf(body);
    const sent = storedSpec(await specOf(body), namespace);
    checkServicesAtApply(m, sent);
    checkAfterAtApply(m, sent);
    const spec = await pinSpec(ctx, sent);
    sendJson(res, 200, apiNamed(await storeVersion(ctx, spec, note, "applied")));
  });

  // Like `nomad job revert`: version V's spec, pins included (so the same package bytes run whatever
  // tags did since), stored as a new version. Reverting to the current spec changes nothing.
  r.add("POST", "/v1/jobs/:name/revert", "admin", async ({ req, res, params }) => {
    const name = params["name"] ?? "";
    const body = await readJsonObject(req, "{\"version\": V}");
    const { version: v } = parseBody(revertBody, body, `revert of job ${quoteId(name)}: version must be a positive integer, got ${JSON.stringify(body["version"])}`, "send {\"version\": V} with V from `tiffin history JOB`");
    if (!m.jobs.has(name)) throw notFound(name);
    const ver = m.spec(name, v);
    if (!ver) throw new TiffinError(ErrorCodes.NotFound, `job ${quoteId(name)} has no version ${v}`, { hint: `list its versions with \`tiffin history ${cliJob(name)}\`` });
    for (const p of ver.spec.pinned ?? []) {
      if (!(await ctx.store.get(packageKey(p.name, p.version)))) {
        throw new TiffinError(ErrorCodes.NotFound, `revert of job ${quoteId(name)} to version ${v}: its package ${p.name}:${p.version} (pinned from "${p.ref}") was removed`, {
          hint: `push ${p.name}:${p.version} again, or apply a spec that references an existing package`,
        });
      }
    }
    // The older spec's services and uses, against the cluster as it is now.
    checkServicesAtApply(m, ver.spec);
    const note = noteOf(body);
    const message = note.message === null ? `revert to version ${v}` : `${note.message} (revert to version ${v})`;
    sendJson(res, 200, apiNamed(await storeVersion(ctx, ver.spec, { by: note.by, message }, `reverted to version ${v}`)));
  });

  // Like `kubectl scale` / `nomad job scale`: the current version's spec, pins included, with another
  // replica count, stored as a new version (the same count changes nothing).
  r.add("POST", "/v1/jobs/:name/scale", "admin", async ({ req, res, params }) => {
    const name = params["name"] ?? "";
    const body = await readJsonObject(req, "{\"replicas\": N}");
    const { replicas } = parseBody(scaleBody, body, `scale of job ${quoteId(name)}: replicas must be a whole number from 0 to 10000, got ${JSON.stringify(body["replicas"])}`, "send {\"replicas\": N}, e.g. `tiffin scale JOB 3`");
    const current = (): JobSpec => {
      const job = m.jobs.get(name)?.value;
      const ver = job && job.removedAt === null ? m.spec(name, job.version) : null;
      if (!ver) throw notFound(name);
      return { ...ver.spec, replicas };
    };
    current();
    const note = noteOf(body);
    const message = note.message === null ? `scale to ${replicas}` : `${note.message} (scale to ${replicas})`;
    sendJson(res, 200, apiNamed(await storeVersion(ctx, current, { by: note.by, message }, `scaled to ${replicas}`)));
  });

  r.add("POST", "/v1/plan", "admin", async ({ req, res, namespace }) => {
    const sent = storedSpec(await specOf(await readJsonObject(req, SpecBody)), namespace);
    // What apply would refuse, plan refuses, with the same problems (but a used service that the
    // file's other jobs may offer: plan sees one job at a time).
    checkServicesAtApply(m, sent, { atPlan: true });
    checkAfterAtApply(m, sent);
    const spec = await pinSpec(ctx, sent);
    sendJson(res, 200, { ...apiNamed(planOf(ctx, spec)), packages: spec.pinned ?? [] });
  });

  r.add("GET", "/v1/jobs/:name", "admin", async ({ res, params }) => {
    const status = jobStatus(m, params["name"] ?? "");
    if (!status) throw notFound(params["name"] ?? "");
    sendJson(res, 200, { ...apiNamed(status), spec: apiSpec(status.spec), tasks: status.tasks.map(apiTask) });
  });

  r.add("DELETE", "/v1/jobs/:name", "admin", async ({ res, params }) => {
    const name = params["name"] ?? "";
    if (!m.jobs.has(name)) throw notFound(name);
    const now = ctx.clock.now();
    await casLoop(ctx, `remove job ${name}`, () => {
      const job = m.jobs.get(name)?.value;
      if (!job || job.removedAt !== null) return null;
      const rec: JobRecord = { ...job, removedAt: now, updatedAt: now };
      return {
        compare: [{ key: jobKey(name), target: "modRevision", op: "==", value: m.modRevision(jobKey(name)) }],
        success: [{ type: "put", key: jobKey(name), value: Kinds.job.encode(rec) }],
      };
    });
    ctx.log.info({ job: name }, "job removed");
    sendJson(res, 200, { ...apiNamed({ name }), removed: true });
  });

  r.add("GET", "/v1/jobs/:name/versions", "admin", async ({ res, params }) => {
    const name = params["name"] ?? "";
    const versions = m.versions.get(name);
    if (!m.jobs.has(name) || !versions) throw notFound(name);
    sendJson(res, 200, [...versions.values()].map((e) => apiVersion(e.value)).sort((a, b) => a.version - b.version));
  });

  r.add("GET", "/v1/jobs/:name/versions/:v", "admin", async ({ res, params }) => {
    const name = params["name"] ?? "";
    const v = Number(params["v"]);
    if (!Number.isInteger(v) || v < 1) throw new TiffinError(ErrorCodes.BadRequest, `version must be a positive integer, got "${params["v"]}"`, { hint: "list versions with GET /v1/jobs/:name/versions" });
    if (!m.jobs.has(name)) throw notFound(name);
    const ver = m.spec(name, v);
    if (!ver) throw new TiffinError(ErrorCodes.NotFound, `job ${quoteId(name)} has no version ${v}`, { hint: `list its versions with \`tiffin history ${cliJob(name)}\`` });
    sendJson(res, 200, apiVersion(ver));
  });

  // Every changed field between two versions, as users write specs (decompiled): what
  // `tiffin history --diff A B` prints and the dashboard's versions show. `from` defaults to the
  // version before.
  r.add("GET", "/v1/jobs/:name/versions/:v/diff", "admin", async ({ res, params, url }) => {
    const name = params["name"] ?? "";
    const to = versionParam(params["v"] ?? "", "version");
    const fromText = url.searchParams.get("from");
    const from = fromText === null ? to - 1 : versionParam(fromText, "from");
    if (!m.jobs.has(name)) throw notFound(name);
    const missing = (v: number): TiffinError => new TiffinError(ErrorCodes.NotFound, `job ${quoteId(name)} has no version ${v}`, { hint: `list its versions with \`tiffin history ${cliJob(name)}\`` });
    const b = m.spec(name, to);
    if (!b) throw missing(to);
    if (from < 1) {
      sendJson(res, 200, { ...apiNamed({ name }), from: null, to, diff: diffJson({}, decompileJob(b.spec)) });
      return;
    }
    const a = m.spec(name, from);
    if (!a) throw missing(from);
    sendJson(res, 200, { ...apiNamed({ name }), from, to, diff: diffJson(decompileJob(a.spec), decompileJob(b.spec)) });
  });
}

function versionParam(text: string, what: string): number {
  const v = Number(text);
  if (text === "" || !Number.isInteger(v) || v < 1) throw new TiffinError(ErrorCodes.BadRequest, `${what} must be a positive integer, got "${text}"`, { hint: "list versions with GET /v1/jobs/:name/versions" });
  return v;
}

/** The 404 of an unknown job. */
export function notFound(name: string): TiffinError {
  const t = splitJobId(name);
  return new TiffinError(ErrorCodes.NotFound, `job "${t.name}" not found${t.namespace === DefaultNamespace ? "" : ` in namespace "${t.namespace}"`}`, { hint: "list jobs with `tiffin jobs` (`-n NS` for another namespace, `-n '*'` for all)" });
}

/** The spec of an apply or plan body, validated; every problem is reported at once (422). */
async function specOf(body: unknown): Promise<JobSpec> {
  const sent = specEnvelope.safeParse(body);
  if (!sent.success) {
    throw new TiffinError(ErrorCodes.BadRequest, "request body must be an object {\"spec\": JobSpec}", { hint: "send the compiled spec as produced by `tiffin plan`/`tiffin apply`" });
  }
  const checked = checkJobSpec(withoutPins(sent.data.spec));
  if (checked.spec === null) {
    const n = checked.problems.length;
    throw new TiffinError(ErrorCodes.SpecInvalid, `the job spec has ${n} problem${n === 1 ? "" : "s"}`, {
      hint: "fix every listed field and apply again",
      problems: checked.problems,
    });
  }
  return checked.spec;
}

/** The envelope of an apply or plan body; the spec inside is checkJobSpec's to read. */
const specEnvelope = z.object({ spec: z.unknown() }).refine((b) => "spec" in b);

/** Stores `spec` (pins resolved) as the job's next version, or nothing when it is the current spec:
 * the one way a version is made (apply, revert, scale, and the recommender's adapted versions). */
export async function storeVersion(ctx: ServerContext, specOrDerive: JobSpec | (() => JobSpec), note: VersionNote, what: string): Promise<ApplyResult> {
  const m = ctx.mirror;
  const now = ctx.clock.now();
  // A derived spec (scale: the current one with other replicas) is derived again on every try of the
  // write, so a version stored meanwhile is built on, never overwritten.
  const derive = typeof specOrDerive === "function" ? specOrDerive : () => specOrDerive;
  const name = derive().name;
  let result: ApplyResult = { name, version: 0, changed: false, revision: m.revision };
  const written = await casLoop(ctx, `apply job ${name}`, () => {
    const spec = derive();
    const job = m.jobs.get(spec.name)?.value ?? null;
    if (job && job.removedAt === null && sameSpec(m, job, spec)) {
      result = { name: spec.name, version: job.version, changed: false, revision: m.revision };
      // The same spec again still tells parked tasks to try again (a new version does it in decideJob).
      const unpark = restartTxn(m, spec.name, null, false);
      return unpark && { compare: unpark.compare, success: unpark.success };
    }
    const version = latestVersion(m, spec.name) + 1;
    const rec: JobRecord = { name: spec.name, version, removedAt: null, updatedAt: now };
    const ver: JobVersion = { name: spec.name, version, spec, createdAt: now, by: note.by, message: note.message };
    result = { name: spec.name, version, changed: true, revision: 0 };
    return {
      compare: [
        { key: jobKey(spec.name), target: "modRevision", op: "==", value: m.modRevision(jobKey(spec.name)) },
        { key: versionKey(spec.name, version), target: "modRevision", op: "==", value: 0 },
        // A package removed between resolving and writing fails the write instead of pinning nothing.
        ...(spec.pinned ?? []).map((p) => ({ key: packageKey(p.name, p.version), target: "version" as const, op: ">" as const, value: 0 })),
      ],
      success: [
        { type: "put", key: versionKey(spec.name, version), value: Kinds.version.encode(ver) },
        { type: "put", key: jobKey(spec.name), value: Kinds.job.encode(rec) },
      ],
    };
  });
  if (written) {
    result.revision = written.revision;
    ctx.log.info({ job: name, version: result.version }, `job ${what}`);
  }
  return result;
}

/** Longest `by` and `message` a version keeps. */
const maxBy = 128;
const maxMessage = 1000;
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const printable = /^[^\u0000-\u0008\u000b-\u001f\u007f]*$/;
const noteField = (max: number) => z.string().max(max).regex(printable).nullable().exactOptional();
/** Who applied and why (`by`, `message`): absent, null or "" are none. */
export const noteBody = z.object({ by: noteField(maxBy), message: noteField(maxMessage) });
/** `POST /v1/jobs/:name/revert`: the version to make current (with the optional note fields). */
export const revertBody = z.object({ version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });
/** `POST /v1/jobs/:name/scale`: the new replica count (the spec's own limits), with the optional note fields. */
export const scaleBody = z.object({ replicas: z.number().int().min(0).max(10_000) });

/** The optional `by` and `message` of an apply or revert body: printable strings of bounded length. */
function noteOf(body: Record<string, unknown>): VersionNote {
  const r = noteBody.safeParse(body);
  if (!r.success) {
    // One field at a time, as before: the first one wrong, with what was sent.
    const key = r.error.issues[0]?.path[0] === "message" ? "message" : "by";
    const v = body[key];
    const max = key === "message" ? maxMessage : maxBy;
    throw new TiffinError(ErrorCodes.BadRequest, `${key} must be a string of at most ${max} printable characters, got ${typeof v === "string" ? `${v.length} characters` : typeof v}`, {
      hint: key === "message" ? "shorten the -m/--message text" : "set TIFFIN_USER to a short name",
    });
  }
  return { by: r.data.by || null, message: r.data.message || null };
}

/** Pins are the server's to set: a spec sent back as stored (with `pinned`) is resolved afresh. */
function withoutPins(spec: unknown): unknown {
  if (typeof spec !== "object" || spec === null || !("pinned" in spec || "secretVersions" in spec)) return spec;
  // Secret versions too: the server resolves them (secrets/pins.ts).
  const { pinned: _ignored, secretVersions: _versions, ...rest } = spec as Record<string, unknown>;
  return rest;
}

function sameSpec(m: Mirror, job: JobRecord, spec: JobSpec): boolean {
  const cur = m.spec(job.name, job.version);
  return cur !== null && stableJson(cur.spec) === stableJson(spec);
}

function latestVersion(m: Mirror, name: string): number {
  let max = m.jobs.get(name)?.value.version ?? 0;
  for (const v of m.versions.get(name)?.keys() ?? []) max = Math.max(max, v);
  return max;
}

/** What applying `spec` would do: the diff against the current version and where tasks would run. */
export function planOf(ctx: ServerContext, spec: JobSpec): PlanResult {
  const m = ctx.mirror;
  const job = m.jobs.get(spec.name)?.value ?? null;
  const cur = job ? m.spec(spec.name, job.version) : null;
  const changed = !(job && job.removedAt === null && sameSpec(m, job, spec));
  const hosts = ctx.liveness.hostStates();
  const usage = new Map<string, InPlaceLoad>(usageByHost(m));
  const index = buildIndex(m, hosts); // a fresh copy: releasing tasks in it writes nothing
  const placements: PlanResult["placements"] = [];
  const needs: PlacementNeed[] = [];
  const tasks = m.tasks.get(spec.name);
  // An every-host job: one task per matching host, as the reconciler keeps them (every-host-input.ts).
  const eh = spec.everyHost === true ? runningSlots(everyHostSlotsOf(m, spec, [...(tasks?.values() ?? [])].map((e) => e.value), hosts, (id) => schedHostOf(m, id, hosts))) : null;
  const wanted = eh ? [...eh.keys()].sort((a, b) => a - b) : Array.from({ length: spec.replicas }, (_, i) => i);
  const wantedSet = new Set(wanted);
  for (const [i, { value: t }] of tasks ?? []) {
    if (!wantedSet.has(i) && t.hostId !== null) index.release(spec.name, i);
  }
  for (const i of wanted) {
    const t = tasks?.get(i)?.value;
    const host = t?.hostId ? hosts.get(t.hostId) : undefined;
    const from = t ? m.spec(spec.name, t.version)?.spec : undefined;
    // Kept attempts stay where they are; replaced ones stay when the new spec fits there (as decideJob
    // does), with the new size of the job's tasks kept there before it booked (as /alloc books them
    // once the rollout moves them to the new version).
    const stays = t && host && from && (!changed || replaceCauses(from, spec).length === 0 || fitsInPlace(inPlaceQuery({ schedHost: (id) => schedHostOf(m, id, hosts) }, host, { used: usage.get(host.id) ?? null, counted: from.resources, from, to: spec })));
    if (host && from) usage.set(host.id, shiftLoad(usage.get(host.id) ?? null, from.resources, stays ? spec.resources : null));
    if (stays && t.hostId) {
      // The scratch index books it at its new size too, as the reconciler's index does for a task at the new version.
      const r = spec.resources;
      index.assign({ job: spec.name, index: i, hostId: t.hostId, cpu: r.cpu, memoryMiB: r.memoryMiB, diskMiB: r.diskMiB, antiAffinity: spec.antiAffinity });
      const h = m.hosts.get(t.hostId)?.value;
      placements.push({ index: i, hostId: t.hostId, hostName: h?.name ?? t.hostId, rack: h?.domain.rack ?? "default", moved: false });
      continue;
    }
    if (t?.hostId) index.release(spec.name, i);
    // As the reconciler will see it: an apply unparks (clean avoid list); others keep the hosts they failed on.
    needs.push({ index: i, avoid: t && !t.parked ? t.avoidHosts : [], move: false });
  }
  // The very placement the reconciler runs (planJob: the same seed, avoid lists and their retry), on
  // a scratch index, so the plan cannot show placements apply would not make.
  const plan = needs.length === 0 ? { job: spec.name, placements: [], unplaced: [] } : eh ? planPinned(index, spec, needs, eh).plan : planJob(index, spec, needs).plan;
  for (const p of plan.placements) {
    const h = m.hosts.get(p.hostId)?.value;
    const before = tasks?.get(p.index)?.value.hostId ?? null;
    placements.push({ index: p.index, hostId: p.hostId, hostName: h?.name ?? p.hostId, rack: h?.domain.rack ?? "default", moved: before !== null && before !== p.hostId });
  }
  placements.sort((a, b) => a.index - b.index);
  const curReplicas = job && job.removedAt === null ? (cur?.spec.everyHost === true ? (tasks?.size ?? 0) : (cur?.spec.replicas ?? 0)) : 0;
  const after = new Map(placements.map((p) => [p.index, p.hostId]));
  const slots = new Set<number>([...(tasks?.keys() ?? []), ...wanted]);
  const taskChanges = [...slots].sort((a, b) => a - b).map((i) => {
    const t = tasks?.get(i)?.value ?? null;
    return planTaskChange({ index: i, task: t, from: t ? (m.spec(spec.name, t.version)?.spec ?? null) : null, to: spec, currentReplicas: curReplicas, hostAfter: after.get(i) ?? null, ...(eh ? { wanted: wantedSet.has(i) } : {}) });
  });
  return {
    name: spec.name,
    version: changed ? latestVersion(m, spec.name) + 1 : (job?.version ?? 1),
    current: job?.version ?? null,
    changed,
    // In the form users write (memory: "256Mi"), as history --diff shows it.
    diff: diffJson(cur ? decompileJob(cur.spec) : null, decompileJob(spec)),
    placements,
    tasks: taskChanges,
    neverFits: neverFits(spec, schedHosts(m, hosts)),
    unplaced: plan.unplaced.map((u) => ({ index: u.index, reasons: Object.fromEntries(Object.entries(u.reasons).filter(([, n]) => (n ?? 0) > 0)) as Record<string, number> })),
    rollout: taskChanges.some((c) => c.action === "replace") ? plannedRollout(m, spec, [...(tasks?.values() ?? [])].map((e) => e.value).filter((t) => wantedSet.has(t.index))) : [],
  };
}

/** The phases a rollout of `spec` would run over the job's current tasks (as the reconciler starts it). */
function plannedRollout(m: Mirror, spec: JobSpec, tasks: Task[]): NonNullable<PlanResult["rollout"]> {
  const host = (id: string | null) => (id === null ? null : (m.hosts.get(id)?.value ?? null));
  const pt = phaseTasks(tasks, spec.everyHost === true ? Number.MAX_SAFE_INTEGER : spec.replicas, (id) => host(id)?.domain ?? null);
  return planPhases(policyOf(spec).phases ?? defaultPhasesOf(spec, pt), pt).map((p) => ({
    spec: p.spec,
    tasks: p.tasks.map((index) => {
      const h = host(tasks.find((t) => t.index === index)?.hostId ?? null);
      return { index, hostName: h?.name ?? null, domain: h ? `${h.domain.datacenter}/${h.domain.cluster}/${h.domain.rack}` : null };
    }),
  }));
}
