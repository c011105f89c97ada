// Which namespace `plan` and `apply` act in (issue 17): a spec that names its `namespace` is applied
// there, one that names none in the command's (-n, TIFFIN_NAMESPACE, the context's, else "default").
// A file's jobs must end up in one namespace, and a spec naming another namespace than one the
// command was pointed at is refused rather than silently applied elsewhere (as kubectl refuses an
// object whose namespace does not match --namespace).

import type { ApiClient } from "../api/client.ts";
import { AllNamespaces, DefaultNamespace } from "../model/index.ts";
import type { JobSpec } from "../model/index.ts";
import { usageError } from "./errors.ts";

/** The namespace `specs` go to when the command acts in `commandNs`, or a usage error saying why none. Pure. */
export function specsNamespace(specs: readonly JobSpec[], commandNs: string, file: string | null): string {
  if (commandNs === AllNamespaces) throw usageError("plan and apply act in one namespace, not '*'", "drop -A / -n '*'; a spec says its own with `namespace`, or give -n NS");
  const named = [...new Set(specs.flatMap((s) => (s.namespace !== undefined ? [s.namespace] : [])))];
  const where = file ?? "the spec";
  if (named.length > 1) throw usageError(`${where} has jobs in the namespaces ${named.join(" and ")}`, "put each namespace's jobs in a file of their own");
  const said = named[0];
  if (said === undefined) return commandNs;
  if (commandNs !== DefaultNamespace && commandNs !== said) {
    throw usageError(`${where} says namespace "${said}", but this command acts in namespace "${commandNs}"`, `run it with -n ${said}, or change the spec's namespace`);
  }
  if (specs.some((s) => s.namespace === undefined)) throw usageError(`${where} names the namespace "${said}" for some jobs only`, `write namespace: "${said}" on every job of the file, or on none and use -n ${said}`);
  return said;
}

/** `client` acting in the namespace of `specs` (specsNamespace). */
export function clientForSpecs(client: ApiClient, specs: readonly JobSpec[], file: string | null): ApiClient {
  return client.inNamespace(specsNamespace(specs, client.namespace, file));
}
