// Maintenance, as `tiffin maintenance list`, `tiffin drain` and `tiffin remediations` show it: the
// windows (scope, start, length, phase, what still holds jobs on their hosts) with a Cancel button,
// the hosts draining (what holds each job and since when, the deadline and its action), and the
// automatic remediations with the budget's alert. Windows and drains come from the tab's live state
// (both are on the base stream); remediations are read again when hosts change and every 5 s.

import type { ApiClient, DrainBlock, Host, MaintenanceWindow, Whoami } from "../../../src/api/index.ts";
import { DrainBlockReasonText, windowPhase } from "../../../src/api/index.ts";
import type { Live } from "../live.ts";
import { useAction, useLive, useRead } from "../hooks.ts";
import { ago, clock } from "../format.ts";
import { hashOf } from "../route.ts";
import { canDo } from "../permissions.ts";
import { Alert } from "../alert.tsx";
import { Heads } from "../table.tsx";

/** The maintenance page. */
export function Maintenance({ live, client, who, onError }: { live: Live; client: ApiClient; who: Whoami | null; onError: (err: unknown) => void }) {
  useLive(live);
  const now = Date.now();
  const windows = [...live.maintenance.values()].filter((w) => w.cancelledAt === null || now - w.cancelledAt < 3_600_000).sort((a, b) => b.start - a.start);
  const draining = [...live.hosts.values()].filter((h) => h.draining).sort((a, b) => a.name.localeCompare(b.name));
  const rem = useRead(() => client.remediations().catch((err: unknown) => (onError(err), Promise.reject(err))), live.fleetVersion, 1000, 5000);
  return (
    <section aria-labelledby="maint-h">
      <h1 id="maint-h">Maintenance</h1>
      <h2>Windows</h2>
      <Windows client={client} windows={windows} canCancel={canDo(who, "drain")} now={now} onError={onError} />
      <h2>Draining hosts ({draining.length})</h2>
      {draining.length === 0 ? <p>No host is draining.</p> : <Drains hosts={draining} now={now} />}
      <h2>Remediations</h2>
      {rem.error !== null && <p class="error">{rem.error}</p>}
      {rem.data?.alert && (
        <p class="error" role="alert">
          {rem.data.alert.message} (since {ago(rem.data.alert.since)}; held by {rem.data.alert.limits.join(", ")})
        </p>
      )}
      {rem.data !== null && rem.data.rules === 0 && <p>No remediation rules: the server runs with none (`tiffin server --remediation FILE`).</p>}
      {(rem.data?.remediations.length ?? 0) > 0 && (
        <table aria-label="Remediations">
          <Heads cols={["Host", "Check", "Rule", "Action", "State", "Why", "Outcome", "Updated"]} />
          <tbody>
            {[...(rem.data?.remediations ?? [])].sort((a, b) => b.updatedAt - a.updatedAt).map((r) => (
              <tr key={r.id}>
                <td>
                  <a href={hashOf({ page: "fleet", host: r.hostId })}>{r.hostName}</a>
                </td>
                <td>{r.check}</td>
                <td>{r.rule}</td>
                <td>{r.action}</td>
                <td>
                  <span class={`badge ${r.state}`}>{r.state}</span>
                </td>
                <td>{r.reason}</td>
                <td>{r.outcome}</td>
                <td>{ago(r.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Windows({ client, windows, canCancel, now, onError }: { client: ApiClient; windows: MaintenanceWindow[]; canCancel: boolean; now: number; onError: (err: unknown) => void }) {
  const { busy, error, act } = useAction(onError);
  if (windows.length === 0) return <p>No maintenance windows: `tiffin maintenance add --rack R --start T --duration D --reason ...` plans one.</p>;
  return (
    <>
      <Alert error={error} />
      <table aria-label="Maintenance windows">
        <Heads cols={["Window", "Scope", "Start", "Length", "Phase", "Reason"]} action={canCancel} />
        <tbody>
          {windows.map((w) => {
            const phase = windowPhase(w, now);
            const open = phase === "planned" || phase === "closing" || phase === "active";
            return (
              <tr key={w.id} data-window={w.id}>
                <td>
                  <code>{w.id}</code>
                </td>
                <td>
                  {w.scope} {w.target}
                </td>
                <td>
                  {new Date(w.start).toLocaleDateString()} {clock(w.start)}
                </td>
                <td>{Math.round(w.durationMs / 60_000)} min</td>
                <td>
                  <span class={`badge ${phase}`}>{phase}</span>
                  {phase === "overrun" && ` ${w.overrun?.hosts.join(", ") ?? ""} not back`}
                  {(w.report ?? []).length > 0 && open && (
                    <ul class="items">
                      {(w.report ?? []).map((r) => (
                        <li key={r.host}>
                          {r.host}: <Blocks blocked={r.blocked} now={now} />
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>{w.reason}</td>
                {canCancel && (
                  <td>
                    {open && (
                      <button type="button" disabled={busy} aria-label={`Cancel window ${w.id}`} onClick={() => void act(() => client.cancelMaintenance(w.id))}>
                        Cancel
                      </button>
                    )}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

function Drains({ hosts, now }: { hosts: Host[]; now: number }) {
  return (
    <table aria-label="Draining hosts">
      <Heads cols={["Host", "Since", "Deadline", "What holds it"]} />
      <tbody>
        {hosts.map((h) => (
          <tr key={h.id} data-host={h.name}>
            <td>
              <a href={hashOf({ page: "fleet", host: h.id })}>{h.name}</a>
            </td>
            <td>{h.drain ? ago(h.drain.startedAt, now) : "-"}</td>
            <td>{h.drain?.deadline != null ? `${clock(h.drain.deadline)}, then ${h.drain.then}` : "none (waits)"}</td>
            <td>{h.drain && h.drain.blocked.length > 0 ? <Blocks blocked={h.drain.blocked} now={now} /> : "nothing"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Held jobs as `tiffin drain` words them: "web [task 0, 2]: disruption budget for 12s - 1 of 3 down". */
function Blocks({ blocked, now }: { blocked: DrainBlock[]; now: number }) {
  return (
    <>
      {blocked.map((b, i) => (
        <span key={b.job}>
          {i > 0 ? "; " : ""}
          {b.job} [task {b.tasks.join(", ")}]: {DrainBlockReasonText[b.reason]} for {ago(b.since, now).replace(" ago", "")} - {b.detail}
        </span>
      ))}
    </>
  );
}
