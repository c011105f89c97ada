// Namespaces (issue 17): the ONE place that turns a job's namespace and name into the id the server
// keys everything by, and back. A job of the default namespace keeps its plain name as its id, so
// state written before namespaces existed needs no migration; a job of namespace NS is `NAME.NS`.
// Neither a job name nor a namespace may hold a ".", so the split is unambiguous, and `NAME.NS` is
// also the job's DNS name below `service.tiffin` (like Kubernetes' `svc.ns`). Services, tasks
// (`NAME.NS/0`), endpoints, rollouts, runs and watch events all carry the id as one string; the API,
// the CLI and specs show `namespace` and `name` apart and never the id.

import { DefaultNamespace, namespaceResource } from "./acl.ts";
import { namespacePattern } from "./secret.ts";

/** The separator between a name and its namespace in an id (no name or namespace holds one). */
export const NamespaceSeparator = ".";

/** `namespace=*` in a listing: every namespace the caller may read. */
export const AllNamespaces = "*";

/** A job (or service) as users name it: its namespace and its name there. */
export interface NamespacedName {
  namespace: string;
  name: string;
}

/** True when `ns` is a namespace's name (a DNS label). */
export function isNamespace(ns: string): boolean {
  return namespacePattern.test(ns);
}

/** The id of `name` in namespace `ns`: the plain name in the default namespace, else `NAME.NS`. */
export function jobId(ns: string, name: string): string {
  return ns === DefaultNamespace ? name : `${name}${NamespaceSeparator}${ns}`;
}

/** The namespace and name of an id (a plain name is of the default namespace). */
export function splitJobId(id: string): NamespacedName {
  const dot = id.indexOf(NamespaceSeparator);
  return dot < 0 ? { namespace: DefaultNamespace, name: id } : { namespace: id.slice(dot + 1), name: id.slice(0, dot) };
}

/** The namespace of an id. */
export function namespaceOfId(id: string): string {
  return splitJobId(id).namespace;
}

/** The ACL resource (`ns/<namespace>`) of the job or service with this id. */
export function resourceOfId(id: string): string {
  return namespaceResource(namespaceOfId(id));
}

/** A name as the job with id `owner` refers to another: `NS/NAME` names another namespace's, a
 * plain `NAME` one of the owner's own namespace. Returns the referred id. */
export function refToId(ref: string, owner: string): string {
  const slash = ref.indexOf("/");
  return slash < 0 ? jobId(namespaceOfId(owner), ref) : jobId(ref.slice(0, slash), ref.slice(slash + 1));
}

/** How a job with id `owner` would write a reference to `id`: `NAME` in its own namespace, else `NS/NAME`. */
export function idToRef(id: string, owner: string): string {
  const t = splitJobId(id);
  return t.namespace === namespaceOfId(owner) ? t.name : `${t.namespace}/${t.name}`;
}

/** An id as messages show it to users: `web`, or `web (namespace team-a)`. */
export function showId(id: string): string {
  const t = splitJobId(id);
  return t.namespace === DefaultNamespace ? t.name : `${t.name} (namespace ${t.namespace})`;
}

/** A job id quoted as messages show it: `"web"`, or `"web" (namespace team-a)`. */
export function quoteId(id: string): string {
  const t = splitJobId(id);
  return t.namespace === DefaultNamespace ? `"${t.name}"` : `"${t.name}" (namespace ${t.namespace})`;
}

/** Task INDEX of the job with id `id` as messages show it: `web/0`, or `web/0 (namespace team-a)`. */
export function showTask(id: string, index: number | string): string {
  const t = splitJobId(id);
  return t.namespace === DefaultNamespace ? `${t.name}/${index}` : `${t.name}/${index} (namespace ${t.namespace})`;
}

/** A job id as a hint's command line takes it: `web`, or `-n team-a web`. */
export function cliJob(id: string): string {
  const t = splitJobId(id);
  return t.namespace === DefaultNamespace ? t.name : `-n ${t.namespace} ${t.name}`;
}
