// Jobs as the dashboard shows them. The typed watch names a job's objects by its id (`web.team-a`,
// `web.team-a/0`: server README, Namespaces); pages show the name, with `NS/` before it outside
// "default" (as `tiffin events` and a spec's `uses` write another namespace's job).
import { DefaultNamespace, splitJobId } from "../../src/api/index.ts";

/** A job id as shown: `web`, or `team-a/web`. */
export function shownJob(id: string): string {
  const t = splitJobId(id);
  return t.namespace === DefaultNamespace ? t.name : `${t.namespace}/${t.name}`;
}

/** A name that starts with a job id (`JOB/INDEX`, `JOB/V`) as shown: `web/0`, or `team-a/web/0`. */
export function shownTask(name: string): string {
  const slash = name.indexOf("/");
  return slash < 0 ? shownJob(name) : `${shownJob(name.slice(0, slash))}${name.slice(slash)}`;
}
