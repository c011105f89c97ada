// Jobs between the API's form and the state's (issue 17, model/namespace.ts): a client sends and
// sees a job's `namespace` and `name` apart; the server keys it by its id (`NAME.NS`, the plain name in
// "default"), with its `uses` as ids too. These are the only conversions of the job routes.

import { DefaultNamespace, ErrorCodes, idToRef, jobId, parseSecretName, refToId, splitJobId, TiffinError } from "../../model/index.ts";
import type { JobSpec, JobVersion } from "../../model/index.ts";

/** A spec a client sent for namespace `ns` (the request's) as the server stores it: its name the
 * job's id, its `uses` ids, no `namespace` field. A spec naming another namespace than the request's
 * is refused (the request's is the one the caller's token was checked on), and so is a secret of
 * another namespace (a namespace's tokens must not reach another's secrets through a job). */
export function storedSpec(spec: JobSpec, ns: string): JobSpec {
  const { namespace: said, ...rest } = spec;
  if (said !== undefined && said !== ns) {
    throw new TiffinError(ErrorCodes.BadRequest, `job "${spec.name}" says namespace "${said}", but the request is for namespace "${ns}"`, { hint: `apply it with -n ${said} (the CLI does so for a spec that names its namespace)` });
  }
  const id = jobId(ns, spec.name);
  for (const ref of [...Object.values(spec.secretEnv ?? {}), ...Object.values(spec.secretFiles ?? {})]) {
    const s = parseSecretName(ref);
    if (typeof s !== "string" && s.ns !== ns) {
      throw new TiffinError(ErrorCodes.BadRequest, `job "${spec.name}" of namespace "${ns}" uses the secret "${ref}" of namespace "${s.ns}"`, { hint: `a job reads only its own namespace's secrets: set it with \`tiffin secret set ${ns}/${s.name}\`` });
    }
  }
  return {
    ...rest,
    name: id,
    ...(spec.uses !== undefined ? { uses: spec.uses.map((u) => ({ service: refToId(u.service, id), min: u.min })) } : {}),
    // `batch.after` names batch jobs of the job's own namespace.
    ...(spec.batch?.after !== undefined ? { batch: { ...spec.batch, after: spec.batch.after.map((j) => jobId(ns, j)) } } : {}),
  };
}

/** A stored spec as clients see it: its name and namespace apart (`namespace` only outside
 * "default", as specs write it), its `uses` as the job would write them. */
export function apiSpec(spec: JobSpec): JobSpec {
  const t = splitJobId(spec.name);
  return {
    ...spec,
    name: t.name,
    ...(t.namespace !== DefaultNamespace ? { namespace: t.namespace } : {}),
    ...(spec.uses !== undefined ? { uses: spec.uses.map((u) => ({ service: idToRef(u.service, spec.name), min: u.min })) } : {}),
    ...(spec.batch?.after !== undefined ? { batch: { ...spec.batch, after: spec.batch.after.map((j) => splitJobId(j).name) } } : {}),
  };
}

/** A stored version as clients see it (apiSpec; `namespace` beside the name outside "default"). */
export function apiVersion(v: JobVersion): JobVersion {
  const t = splitJobId(v.name);
  return { ...v, name: t.name, ...(t.namespace !== DefaultNamespace ? { namespace: t.namespace } : {}), spec: apiSpec(v.spec) };
}

/** An answer naming a job by its id (`name`) as clients see it: the name and, outside "default",
 * its namespace (so answers of the default namespace are as before namespaces). */
export function apiNamed<T extends { name: string }>(answer: T): T & { namespace?: string } {
  const t = splitJobId(answer.name);
  return { ...answer, name: t.name, ...(t.namespace !== DefaultNamespace ? { namespace: t.namespace } : {}) };
}

/** A task as clients see it: its id `NAME/INDEX` and its attempts' `job` the plain name (the
 * answer carrying it says the namespace). */
export function apiTask<T extends { id: string; index: number; attempts: readonly { job: string }[] }>(task: T): T {
  const name = (id: string): string => splitJobId(id).name;
  const job = task.id.slice(0, task.id.lastIndexOf("/"));
  return { ...task, id: `${name(job)}/${task.index}`, attempts: task.attempts.map((a) => ({ ...a, job: name(a.job) })) };
}

/** A record naming its job by id in `job` (a run, a recommendation) as clients see it: the plain
 * name and, outside "default", `namespace` beside it. */
export function apiJobOf<T extends { job: string }>(record: T): T & { namespace?: string } {
  const t = splitJobId(record.job);
  return { ...record, job: t.name, ...(t.namespace !== DefaultNamespace ? { namespace: t.namespace } : {}) };
}
