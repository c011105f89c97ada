// One job, as `tiffin status`, `tiffin rollout status`, `tiffin endpoints` and `tiffin history` show
// it: its rollout (phases, verdicts, controls), its tasks (host, state, attempt, pid, ports, a restart
// button: `tiffin restart JOB --index N`), the service's endpoints, each task's recent attempts with
// how they ended, and its versions. Read again when the watch reports a change.

import { useState } from "preact/hooks";
import { DefaultNamespace, ErrorCodes, formatDiff, jobId, TiffinError } from "../../../src/api/index.ts";
import type { ApiClient, Endpoint, JobVersion, TaskView, Whoami } from "../../../src/api/index.ts";
import type { Live } from "../live.ts";
import { useAction, useLive, useRead } from "../hooks.ts";
import { ago, clock } from "../format.ts";
import { endOf } from "../feed.ts";
import { hashOf } from "../route.ts";
import { RolloutPanel } from "./rollout.tsx";
import { RunsPanel } from "./runs.tsx";
import { canDo } from "../permissions.ts";
import { Alert } from "../alert.tsx";
import { Heads } from "../table.tsx";

/** The job page. */
export function JobPage({ live, client, name, who, onError }: { live: Live; client: ApiClient; name: string; who: Whoami | null; onError: (err: unknown) => void }) {
  useLive(live);
  // The watch names the job's objects by its id (`web.team-a`); the calls name it in its namespace.
  const id = jobId(client.namespace, name);
  const fail = (err: unknown): Promise<never> => (onError(err), Promise.reject(err));
  const status = useRead(() => client.job(name).catch(fail), `${name}:${live.jobVersions.get(id) ?? 0}`, 700);
  const versions = useRead(() => client.versions(name).catch(fail), `${name}:${live.jobs.get(id)?.version ?? 0}`, 700);
  // The rollout record moves with every phase and verdict (the base stream lists rollouts).
  const rolloutKey = [...live.rollouts.values()].filter((r) => r.job === id).map((r) => `${r.version}:${r.state}:${r.phase}:${r.updatedAt}`).join(",");
  const rollout = useRead(() => client.rolloutStatus(name).catch(fail), `${name}:${rolloutKey}:${live.jobVersions.get(id) ?? 0}`, 700);
  const s = status.data;
  // Only a job with named ports offers a service (else the server answers 404: shown as nothing).
  const serves = (s?.spec.ports.length ?? 0) > 0;
  const endpoints = useRead(
    () => (serves ? client.endpoints(name).catch((err: unknown) => (err instanceof TiffinError && err.code === ErrorCodes.NotFound ? [] : fail(err))) : Promise.resolve([])),
    `${name}:${serves}:${live.jobVersions.get(id) ?? 0}`,
    700,
  );
  return (
    <section aria-labelledby="job-h">
      <p>
        <a href={hashOf({ page: "jobs" })}>← Jobs</a>
      </p>
      <h1 id="job-h">
        {name} {client.namespace !== DefaultNamespace && <small class="ns">namespace {client.namespace}</small>} {s && <small>v{s.version}{s.removed ? " (removed)" : ""}</small>}
      </h1>
      {status.error !== null && <p class="error">{status.error}</p>}
      {s && (
        <>
          <p>
            {s.spec.batch !== undefined ? `a batch job of ${s.spec.batch.completions} items a run (${s.spec.batch.parallelism} at once) of ` : `${s.spec.replicas} replicas of `}
            <code>{s.spec.command.join(" ")}</code>, {s.spec.resources.cpu} CPU, {s.spec.resources.memoryMiB} MiB
          </p>
          {s.spec.batch !== undefined ? (
            <RunsPanel live={live} client={client} name={name} canAct={canDo(who, "run", client.namespace)} onError={onError} />
          ) : (
            <RolloutPanel client={client} name={name} status={rollout.data} canAct={canDo(who, "rollout", client.namespace)} onError={onError} />
          )}
          <h2>Tasks</h2>
          <TaskTable client={client} name={name} tasks={s.tasks} canRestart={canDo(who, "restart", client.namespace)} onError={onError} />
          {(endpoints.data?.length ?? 0) > 0 && (
            <>
              <h2>Service endpoints</h2>
              <EndpointTable endpoints={endpoints.data ?? []} />
            </>
          )}
          <h2>Attempt history</h2>
          <AttemptTable tasks={s.tasks} />
        </>
      )}
      <h2>Versions</h2>
      <VersionTable client={client} name={name} versions={versions.data ?? []} current={s?.version ?? null} onError={onError} />
    </section>
  );
}

function TaskTable({ client, name, tasks, canRestart, onError }: { client: ApiClient; name: string; tasks: TaskView[]; canRestart: boolean; onError: (err: unknown) => void }) {
  const { busy, error, act } = useAction(onError);
  const restart = (index: number): Promise<void> => act(() => client.restart(name, index));
  return (
    <>
    <Alert error={error} />
    <table aria-label="Tasks">
      <Heads cols={["Task", "Version", "Host", "State", "Attempt", "Pid", "Ports", "Failures", "Reason"]} action={canRestart} />
      <tbody>
        {tasks.map((t) => (
          <tr key={t.id} data-task={t.id}>
            <td>
              <a href={hashOf({ page: "task", namespace: client.namespace, job: name, index: t.index })} aria-label={`${t.id} log`}>
                {t.id}
              </a>
            </td>
            <td>v{t.version}</td>
            <td>{t.hostId !== null ? <a href={hashOf({ page: "fleet", host: t.hostId })}>{t.hostName ?? t.hostId}</a> : "-"}</td>
            <td>
              <span class={`badge ${t.state}`}>{t.state}</span>
            </td>
            <td>
              <code>{t.attemptId ?? "-"}</code>
            </td>
            <td>{t.pid ?? "-"}</td>
            <td>
              {Object.entries(t.ports)
                .map(([k, v]) => `${k}:${v}`)
                .join(" ") || "-"}
            </td>
            <td>{t.failures}</td>
            <td>{t.reason ?? ""}</td>
            {canRestart && (
              <td>
                <button type="button" disabled={busy} onClick={() => void restart(t.index)} aria-label={`Restart ${t.id}`}>
                  Restart
                </button>
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
    </>
  );
}

function EndpointTable({ endpoints }: { endpoints: Endpoint[] }) {
  return (
    <table aria-label="Service endpoints">
      <Heads cols={["Task", "Host", "Address", "State", "Version"]} />
      <tbody>
        {endpoints.map((e) => (
          <tr key={e.index}>
            <td>
              {e.job}/{e.index}
            </td>
            <td>{e.host}</td>
            <td>
              <code>{e.ports.map((p) => `${p.name}=${e.address}:${p.port}`).join(" ")}</code>
            </td>
            <td>
              <span class={`badge ${e.state}`}>{e.state}</span>
            </td>
            <td>v{e.version}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AttemptTable({ tasks }: { tasks: TaskView[] }) {
  const rows = tasks.flatMap((t) => t.attempts.map((a) => ({ task: t.id, a })));
  return (
    <table aria-label="Attempt history">
      <Heads cols={["Task", "Attempt", "Version", "State", "Started", "Ended", "How it ended"]} />
      <tbody>
        {rows.map(({ task, a }) => (
          <tr key={a.id}>
            <td>{task}</td>
            <td>
              <code>{a.id}</code>
            </td>
            <td>v{a.version}</td>
            <td>{a.state}</td>
            <td>{a.startedAt !== null ? clock(a.startedAt) : "-"}</td>
            <td>{a.endedAt !== null ? clock(a.endedAt) : "-"}</td>
            <td>{(a.endCause ? `${a.endCause}` : "") + endOf(a)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function VersionTable({ client, name, versions, current, onError }: { client: ApiClient; name: string; versions: JobVersion[]; current: number | null; onError: (err: unknown) => void }) {
  return (
    <table aria-label="Versions">
      <Heads cols={["Version", "Applied", "By", "Message", "Replicas", "Changes"]} />
      <tbody>
        {[...versions].reverse().map((v) => (
          <tr key={v.version} class={v.version === current ? "current" : ""} data-version={v.version}>
            <td>
              v{v.version}
              {v.version === current ? " (current)" : ""}
            </td>
            <td>{ago(v.createdAt)}</td>
            <td>{v.by ?? "-"}</td>
            <td>{v.message ?? ""}</td>
            <td>{v.spec.replicas}</td>
            <td>
              <VersionChanges client={client} name={name} version={v.version} onError={onError} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** What changed from the version before, as `tiffin history --diff` prints it (the server's diff),
 * read when opened. */
function VersionChanges({ client, name, version, onError }: { client: ApiClient; name: string; version: number; onError: (err: unknown) => void }) {
  const [text, setText] = useState<string | null>(null);
  const open = (e: Event): void => {
    if (!(e.currentTarget as HTMLDetailsElement).open || text !== null) return;
    client.versionDiff(name, version).then(
      (d) => setText(formatDiff(d.diff)),
      (err: unknown) => {
        onError(err);
        setText(err instanceof Error ? err.message : String(err));
      },
    );
  };
  return (
    <details onToggle={open}>
      <summary>{version === 1 ? "as created" : `since v${version - 1}`}</summary>
      <pre class="diff">{text ?? "loading…"}</pre>
    </details>
  );
}
