// A job's rollout, as `tiffin rollout status` shows it: the phase, the tasks done, what it waits for,
// each phase's tasks and outcome, and each safety check's verdict with the figures behind it. The
// buttons (for a token with write on the job's namespace) send the same commands as `tiffin rollout
// pause|resume|promote|abort` (same API, same audit).

import type { ApiClient, RolloutStatus } from "../../../src/api/index.ts";
import { ago } from "../format.ts";
import { useAction } from "../hooks.ts";
import { rolloutCommands } from "../rollout-commands.ts";
import { Alert } from "../alert.tsx";
import { Heads } from "../table.tsx";

/** The rollout section of a job page; `status` is GET /v1/jobs/:name/rollout (null while loading). */
export function RolloutPanel({ client, name, status, canAct, onError }: { client: ApiClient; name: string; status: RolloutStatus | null; canAct: boolean; onError: (err: unknown) => void }) {
  const { busy, error, act } = useAction(onError);
  const r = status?.rollout ?? null;
  if (status === null || r === null) return null;
  const send = (command: "pause" | "resume" | "promote" | "abort"): Promise<void> => act(() => client.rolloutCommand(name, command));
  return (
    <section aria-labelledby="rollout-h">
      <h2 id="rollout-h">
        Rollout #{status.n}: v{r.from ?? "-"} → v{r.version} <span class={`badge ${r.state}`}>{r.state}</span>
      </h2>
      <p>
        {r.cause === "apply" ? "a new version" : r.cause === "restart" ? "a rolling restart" : "a rollback"}, phase {Math.min(r.phase + 1, r.phases.length)} of {r.phases.length},{" "}
        {status.tasksDone} of {status.tasksTotal} tasks done, at most {r.maxUnavailable} down at once; started {ago(r.startedAt)}
        {status.waitingFor !== null ? `; waiting for ${status.waitingFor}` : ""}
        {r.why !== null ? ` (${r.why})` : ""}
      </p>
      <div class="actions">
        {(canAct ? rolloutCommands(r.state, r.promote) : []).map((c) => (
          <button key={c} type="button" class="action" disabled={busy} onClick={() => void send(c)}>
            {c[0]?.toUpperCase() + c.slice(1)} rollout
          </button>
        ))}
      </div>
      <Alert error={error} />
      <table aria-label="Rollout phases">
        <Heads cols={["Phase", "Tasks", "Outcome", "Checks"]} />
        <tbody>
          {r.phases.map((p, i) => (
            <tr key={i} class={i === r.phase && r.endedAt === null ? "current" : ""}>
              <td>
                {i + 1}: {String(p.spec)}
              </td>
              <td>{p.tasks.length > 0 ? p.tasks.join(", ") : "-"}</td>
              <td>{p.outcome ?? (p.startedAt === null ? "waiting" : p.healthyAt !== null ? "baking" : "replacing")}</td>
              <td>
                <ul class="checks">
                  {p.checks.map((c) => (
                    <li key={c.name}>
                      <span class={`badge ${c.verdict}`}>{c.verdict}</span> {c.name}: {c.detail}
                    </li>
                  ))}
                </ul>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
