// A batch job's runs, as `tiffin runs JOB` and `tiffin runs show RUN` show them: each run's state,
// cause, item counts, timing and reason, newest first; opened, its items with their attempts' ends.
// "Run now" starts one as `tiffin run JOB` does and "Cancel" ends a queued or running one, for tokens
// that may write to the job. Read again when the base stream reports a change to the job's runs.

import { jobId, runItemCounts } from "../../../src/api/index.ts";
import type { ApiClient, Run } from "../../../src/api/index.ts";
import type { Live } from "../live.ts";
import { useAction, useRead } from "../hooks.ts";
import { ago, clock } from "../format.ts";
import { endOf } from "../feed.ts";
import { Alert } from "../alert.tsx";
import { Heads } from "../table.tsx";

const Shown = 20;

/** The runs panel of a batch job's page. */
export function RunsPanel({ live, client, name, canAct, onError }: { live: Live; client: ApiClient; name: string; canAct: boolean; onError: (err: unknown) => void }) {
  const key = [...live.runs.values()].filter((r) => r.job === jobId(client.namespace, name)).map((r) => `${r.id}:${r.state}:${r.endedAt ?? ""}`).join(",");
  const runs = useRead(() => client.runs(name).catch((err: unknown) => (onError(err), Promise.reject(err))), `${name}:${key}`, 700, 5000);
  const { busy, error, act } = useAction(onError);
  const list = [...(runs.data ?? [])].sort((a, b) => b.createdAt - a.createdAt).slice(0, Shown);
  return (
    <>
      <h2>Runs</h2>
      {canAct && (
        <p class="actions">
          <button type="button" disabled={busy} onClick={() => void act(() => client.startRun(name))}>
            Run now
          </button>
        </p>
      )}
      <Alert error={error} />
      {runs.error !== null && <p class="error">{runs.error}</p>}
      {runs.data !== null && list.length === 0 && <p>No runs yet: `tiffin run {name}` starts one.</p>}
      {list.length > 0 && (
        <table aria-label="Runs">
          <Heads cols={["Run", "State", "Cause", "Items", "Started", "Took", "Why"]} action={canAct} />
          <tbody>
            {list.map((r) => (
              <tr key={r.id} data-run={r.id}>
                <td>
                  <RunItems run={r} />
                </td>
                <td>
                  <span class={`badge ${r.state}`}>{r.state}</span>
                </td>
                <td>{r.cause}</td>
                <td>{counts(r)}</td>
                <td>{r.startedAt !== null ? ago(r.startedAt) : "-"}</td>
                <td>{r.startedAt !== null ? `${Math.round(((r.endedAt ?? Date.now()) - r.startedAt) / 100) / 10} s` : "-"}</td>
                <td>{r.reason ?? ""}</td>
                {canAct && (
                  <td>
                    {(r.state === "queued" || r.state === "running") && (
                      <button type="button" disabled={busy} aria-label={`Cancel run ${r.id}`} onClick={() => void act(() => client.cancelRun(name, r.id))}>
                        Cancel
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function counts(r: Run): string {
  const c = runItemCounts(r);
  return `${c.succeeded} ok, ${c.failed} failed, ${c.running} running of ${c.total}`;
}

/** The run's id; opened, one line an item: state, failures, and each attempt's end. */
function RunItems({ run }: { run: Run }) {
  return (
    <details>
      <summary>
        <code>{run.id}</code>
      </summary>
      <ul class="items">
        {run.items.map((it) => (
          <li key={it.index}>
            #{it.index} {it.state}
            {it.failures > 0 ? `, ${it.failures} failed` : ""}
            {it.attempts.map((a) => ` · ${a.startedAt !== null ? clock(a.startedAt) : "-"} ${a.state}${endOf(a)}`).join("")}
          </li>
        ))}
      </ul>
    </details>
  );
}
