// One host, beside the fleet map: its inventory, labels, tasks (its own watch, `host=`) and the drain button
// (only for a token with drain on hosts), which calls the same endpoint as `tiffin drain` (and is
// audited the same way).

import { splitJobId } from "../../../src/api/index.ts";
import type { ApiClient, Host, HostView } from "../../../src/api/index.ts";
import type { Live } from "../live.ts";
import { ago, mib } from "../format.ts";
import { hashOf } from "../route.ts";
import { shownTask } from "../names.ts";
import { useScoped } from "../scoped.ts";
import { useAction } from "../hooks.ts";
import { Alert } from "../alert.tsx";
import { Heads } from "../table.tsx";

/** The open host's panel. */
export function HostPanel({ live, client, host, canDrain, view, onError, onClose }: { live: Live; client: ApiClient; host: Host; canDrain: boolean; view: HostView | null; onError: (err: unknown) => void; onClose: () => void }) {
  const { busy, error, act: send } = useAction(onError);
  const up = live.alive.has(host.id);
  const scoped = useScoped(client, { host: host.id }, onError);
  // The watch sends a task moving off the host once more: only those still on it are listed.
  const tasks = [...scoped.tasks.entries()].filter(([, t]) => t.hostId === host.id).sort(([a], [b]) => (a < b ? -1 : 1));
  const act = (): Promise<void> => send(() => (host.draining ? client.undrain(host.id) : client.drain(host.id)));
  const status = !up ? "down" : (view?.status ?? "up");
  return (
    <aside class="panel" aria-labelledby="host-h">
      <div class="panel-head">
        <h2 id="host-h">{host.name}</h2>
        <button type="button" onClick={onClose} aria-label={`Close ${host.name}`}>
          ×
        </button>
      </div>
      <p>
        <span class={`badge ${status}`}>{status}</span>
        {host.draining && <span class="badge draining">draining</span>} last heartbeat {ago(view?.lastHeartbeatAt ?? null)}
      </p>
      {canDrain && (
        <button type="button" class="action" disabled={busy} onClick={() => void act()}>
          {host.draining ? `Undrain ${host.name}` : `Drain ${host.name}`}
        </button>
      )}
      <Alert error={error} />
      <h3>Inventory</h3>
      <dl>
        <dt>Id</dt>
        <dd>
          <code>{host.id}</code>
        </dd>
        <dt>Domain</dt>
        <dd>
          {host.domain.region} / {host.domain.datacenter} / {host.domain.cluster} / {host.domain.rack}
        </dd>
        <dt>CPU</dt>
        <dd>
          {view ? `${view.used.cpu.toFixed(1)} of ${host.cores} cores booked` : `${host.cores} cores`}
        </dd>
        <dt>Memory</dt>
        <dd>{view ? `${mib(view.used.memoryMiB)} of ${mib(host.memoryMiB)} booked` : mib(host.memoryMiB)}</dd>
        <dt>Disk</dt>
        <dd>{mib(host.diskMiB)}</dd>
        <dt>OS</dt>
        <dd>
          {host.os.id} {host.os.version}, kernel {host.kernel}
        </dd>
        <dt>Runtime</dt>
        <dd>{host.runtime}</dd>
        <dt>Address</dt>
        <dd>{host.address}</dd>
        <dt>Registered</dt>
        <dd>{ago(host.registeredAt)}</dd>
      </dl>
      <h3>Labels</h3>
      <ul class="labels">
        {Object.entries(host.labels).map(([k, v]) => (
          <li key={k}>
            <code>
              {k}={v}
            </code>
          </li>
        ))}
      </ul>
      <h3>
        Tasks ({scoped.synced ? tasks.length : "loading…"})
      </h3>
      <table>
        <Heads cols={["Task", "State", "Version"]} />
        <tbody>
          {tasks.map(([id, t]) => (
            <tr key={id}>
              <td>
                <a href={hashOf({ page: "job", ...splitJobId(t.job) })}>{shownTask(id)}</a>
              </td>
              <td>{t.attemptId !== null ? (scoped.attempts.get(t.attemptId)?.state ?? "pending") : "pending"}</td>
              <td>v{t.version}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </aside>
  );
}
