// Every job with its counts, as `tiffin jobs -A` shows them (GET /v1/jobs?namespace=*: every namespace
// the token may read, with a namespace column), read again whenever the watch reports a change to
// jobs, tasks or attempts.

import { AllNamespaces, DefaultNamespace } from "../../../src/api/index.ts";
import type { ApiClient } from "../../../src/api/index.ts";
import type { Live } from "../live.ts";
import { useLive, useRead } from "../hooks.ts";
import { hashOf } from "../route.ts";
import { Heads } from "../table.tsx";

/** The jobs page. */
export function Jobs({ live, client, onError }: { live: Live; client: ApiClient; onError: (err: unknown) => void }) {
  useLive(live);
  const jobs = useRead(() => client.inNamespace(AllNamespaces).jobs().catch((err: unknown) => (onError(err), Promise.reject(err))), live.jobsVersion, 700);
  const list = (jobs.data ?? []).filter((j) => !j.removed);
  return (
    <section aria-labelledby="jobs-h">
      <h1 id="jobs-h">Jobs</h1>
      {jobs.error !== null && <p class="error">{jobs.error}</p>}
      {jobs.data !== null && list.length === 0 && <p>No jobs yet: `tiffin apply SPEC` stores one.</p>}
      <table class="jobs">
        <Heads cols={["Namespace", "Job", "Version", "Desired", "Placed", "Running", "Healthy"]} />
        <tbody>
          {list.map((j) => (
            <tr key={`${j.namespace ?? DefaultNamespace}/${j.name}`} class={j.running < j.replicas ? "short" : ""}>
              <td>{j.namespace ?? DefaultNamespace}</td>
              <td>
                <a href={hashOf({ page: "job", namespace: j.namespace ?? DefaultNamespace, name: j.name })}>{j.name}</a>
              </td>
              <td>v{j.version}</td>
              <td>{j.replicas}</td>
              <td>{j.placed}</td>
              <td>{j.running}</td>
              <td>{j.healthy}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
