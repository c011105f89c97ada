// One job, as `tiffin status` and `tiffin history` show it: its tasks (host, state, attempt, pid,
// ports), each task's recent attempts with how they ended, and its versions. Read again when the
// watch reports a change.

import type { ApiClient, JobVersion, TaskView } from "../../../src/api/index.ts";
import type { Live } from "../live.ts";
import { useLive, useRead } from "../hooks.ts";
import { ago, clock } from "../format.ts";
import { endOf } from "../feed.ts";
import { hashOf } from "../route.ts";

/** The job page. */
export function JobPage({ live, client, name, onError }: { live: Live; client: ApiClient; name: string; onError: (err: unknown) => void }) {
  useLive(live);
  const fail = (err: unknown): Promise<never> => (onError(err), Promise.reject(err));
  const status = useRead(() => client.job(name).catch(fail), `${name}:${live.jobVersions.get(name) ?? 0}`, 700);
  const versions = useRead(() => client.versions(name).catch(fail), `${name}:${live.jobs.get(name)?.version ?? 0}`, 700);
  const s = status.data;
  return (
    <section aria-labelledby="job-h">
      <p>
        <a href={hashOf({ page: "jobs" })}>← Jobs</a>
      </p>
      <h1 id="job-h">
        {name} {s && <small>v{s.version}{s.removed ? " (removed)" : ""}</small>}
      </h1>
      {status.error !== null && <p class="error">{status.error}</p>}
      {s && (
        <>
          <p>
            {s.spec.replicas} replicas of <code>{s.spec.command.join(" ")}</code>, {s.spec.resources.cpu} CPU, {s.spec.resources.memoryMiB} MiB
          </p>
          <h2>Tasks</h2>
          <TaskTable tasks={s.tasks} />
          <h2>Attempt history</h2>
          <AttemptTable tasks={s.tasks} />
        </>
      )}
      <h2>Versions</h2>
      <VersionTable versions={versions.data ?? []} current={s?.version ?? null} />
    </section>
  );
}

function TaskTable({ tasks }: { tasks: TaskView[] }) {
  return (
    <table aria-label="Tasks">
      <thead>
        <tr>
          <th scope="col">Task</th>
          <th scope="col">Version</th>
          <th scope="col">Host</th>
          <th scope="col">State</th>
          <th scope="col">Attempt</th>
          <th scope="col">Pid</th>
          <th scope="col">Ports</th>
          <th scope="col">Failures</th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {tasks.map((t) => (
          <tr key={t.id} data-task={t.id}>
            <td>
              <a href={hashOf({ page: "task", job: t.id.slice(0, t.id.lastIndexOf("/")), index: t.index })} aria-label={`${t.id} log`}>
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
      <thead>
        <tr>
          <th scope="col">Task</th>
          <th scope="col">Attempt</th>
          <th scope="col">Version</th>
          <th scope="col">State</th>
          <th scope="col">Started</th>
          <th scope="col">Ended</th>
          <th scope="col">How it ended</th>
        </tr>
      </thead>
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

function VersionTable({ versions, current }: { versions: JobVersion[]; current: number | null }) {
  return (
    <table aria-label="Versions">
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Applied</th>
          <th scope="col">By</th>
          <th scope="col">Message</th>
          <th scope="col">Replicas</th>
        </tr>
      </thead>
      <tbody>
        {[...versions].reverse().map((v) => (
          <tr key={v.version} class={v.version === current ? "current" : ""}>
            <td>
              v{v.version}
              {v.version === current ? " (current)" : ""}
            </td>
            <td>{ago(v.createdAt)}</td>
            <td>{v.by ?? "-"}</td>
            <td>{v.message ?? ""}</td>
            <td>{v.spec.replicas}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
