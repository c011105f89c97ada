// Every package version, as `tiffin pkg ls` shows it (GET /v1/packages): size, pieces, tags, and
// the job versions that pin it (links to the jobs). Read again when a job changes (an apply pins
// packages) and every few seconds (pushes and tags are not on the watch). Below, the fetches in
// flight with a progress bar per host (./fetches.tsx).

import { splitJobId } from "../../../src/api/index.ts";
import type { ApiClient, PackageSummary } from "../../../src/api/index.ts";
import type { Live } from "../live.ts";
import { useLive, useRead } from "../hooks.ts";
import { ago, bytes } from "../format.ts";
import { hashOf } from "../route.ts";
import { shownJob } from "../names.ts";
import { Fetches } from "./fetches.tsx";
import { Heads } from "../table.tsx";

/** The packages page. */
export function Packages({ live, client, onError }: { live: Live; client: ApiClient; onError: (err: unknown) => void }) {
  useLive(live);
  const pkgs = useRead(() => client.packages().catch((err: unknown) => (onError(err), Promise.reject(err))), live.jobsVersion, 700, 5000);
  const list = [...(pkgs.data ?? [])].sort((a, b) => a.name.localeCompare(b.name) || b.registeredAt - a.registeredAt);
  return (
    <section aria-labelledby="packages-h">
      <h1 id="packages-h">Packages</h1>
      {pkgs.error !== null && <p class="error">{pkgs.error}</p>}
      {pkgs.data !== null && list.length === 0 && <p>No packages yet: `tiffin pkg push DIR --name N` adds one.</p>}
      <table aria-label="Packages">
        <Heads cols={["Package", "Version", "Tags", "Size", "Pieces", "Pushed", "Pinned by"]} />
        <tbody>
          {list.map((p) => (
            <tr key={p.id} data-package={`${p.name}@${p.version}`}>
              <td>{p.name}</td>
              <td>
                <code title={p.id}>{p.version}</code>
              </td>
              <td>{p.tags.join(", ") || "-"}</td>
              <td>{bytes(p.totalSize)}</td>
              <td>{p.pieces}</td>
              <td>{ago(p.registeredAt)}</td>
              <td>
                <PinnedBy pins={p} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Fetches live={live} client={client} onError={onError} />
    </section>
  );
}

/** `job@v` pins as links to their jobs. */
function PinnedBy({ pins }: { pins: PackageSummary }) {
  if (pins.pinnedBy.length === 0) return <>-</>;
  return (
    <>
      {pins.pinnedBy.map((pin, i) => {
        const at = pin.lastIndexOf("@");
        const job = at > 0 ? pin.slice(0, at) : pin;
        return (
          <span key={pin}>
            {i > 0 ? ", " : ""}
            <a href={hashOf({ page: "job", ...splitJobId(job) })}>{shownJob(job)}{pin.slice(job.length)}</a>
          </span>
        );
      })}
    </>
  );
}
