// The package fetches in flight, as `tiffin swarm fetches` lists them (GET /v1/swarm/fetches, the
// leader's swarm tracker): per package, a bar per host of the pieces it holds, from peers (blue) or
// the origin (orange), and what is on its way (light). Read every second while a fetch runs, every
// five otherwise (the tracker's memory is not on the watch), and when a job changes (an apply starts
// fetches).

import type { ApiClient, SwarmFetcher, SwarmPackageFetches } from "../../../src/api/index.ts";
import { useEffect, useState } from "preact/hooks";
import type { Live } from "../live.ts";
import { useRead } from "../hooks.ts";
import { fetchBar, fetchLine } from "../fetch-bars.ts";

/** Bar width, px. */
const BarWidth = 240;

/** The fetches section of the packages page. */
export function Fetches({ live, client, onError }: { live: Live; client: ApiClient; onError: (err: unknown) => void }) {
  const [everyMs, setEveryMs] = useState(5000);
  const state = useRead(() => client.swarmFetches().catch((err: unknown) => (onError(err), Promise.reject(err))), live.jobsVersion, 700, everyMs);
  const data = state.data;
  const running = data?.packages.some((p) => p.fetchers.some((f) => !f.complete)) ?? false;
  useEffect(() => setEveryMs(running ? 1000 : 5000), [running]);
  const hostName = (id: string): string => live.hosts.get(id)?.name ?? id;
  return (
    <section aria-labelledby="fetches-h">
      <h2 id="fetches-h">Fetches in flight</h2>
      {state.error !== null && <p class="error">{state.error}</p>}
      {data !== null && data.packages.length === 0 && <p>No package fetches in flight (finished ones stay here {Math.round(data.keepMs / 1000)} s).</p>}
      {data?.packages.map((p) => <PackageFetches key={p.id} p={p} now={data.at} hostName={hostName} />)}
      {data !== null && data.packages.length > 0 && (
        <ul class="legend" aria-label="Bar colours">
          <li><span class="swatch fetch-peers" aria-hidden="true" /> from peers</li>
          <li><span class="swatch fetch-origin" aria-hidden="true" /> from the origin</li>
          <li><span class="swatch fetch-other" aria-hidden="true" /> held before</li>
          <li><span class="swatch fetch-inflight" aria-hidden="true" /> on its way</li>
        </ul>
      )}
    </section>
  );
}

function PackageFetches({ p, now, hostName }: { p: SwarmPackageFetches; now: number; hostName: (id: string) => string }) {
  const title = p.name !== null ? `${p.name}@${p.version ?? "?"}` : p.id.slice(0, 12);
  const fetching = p.fetchers.filter((f) => !f.complete).length;
  return (
    <div class="fetches" data-fetches={title}>
      <h3>
        {title} <small class="hint">{p.pieces === 1 ? "1 piece" : `${p.pieces} pieces`}; {fetching} fetching, {p.fetchers.length - fetching} done, {p.seeds} other holders; {p.originFallbacks} origin fallbacks</small>
      </h3>
      <ul class="fetch-list">
        {p.fetchers.map((f) => (
          <FetcherRow key={f.host} f={f} total={p.pieces} now={now} host={hostName(f.host)} pkg={title} />
        ))}
      </ul>
    </div>
  );
}

function FetcherRow({ f, total, now, host, pkg }: { f: SwarmFetcher; total: number; now: number; host: string; pkg: string }) {
  const bar = fetchBar(f, total);
  const line = fetchLine(f, total, now);
  let x = 0;
  const seg = (share: number, cls: string) => {
    const w = share * BarWidth;
    const r = <rect class={cls} x={x} y={0} width={w} height={12} />;
    x += w;
    return r;
  };
  return (
    <li data-host={host}>
      <span class="fetch-host">{host}</span>
      <svg class="fetch-bar" width={BarWidth} height={12} role="progressbar" aria-label={`${pkg} on ${host}`} aria-valuemin={0} aria-valuemax={total} aria-valuenow={Math.min(f.held, total)} aria-valuetext={line}>
        <rect class="fetch-track" x={0} y={0} width={BarWidth} height={12} />
        {seg(bar.peers, "fetch-peers")}
        {seg(bar.origin, "fetch-origin")}
        {seg(bar.other, "fetch-other")}
        {seg(bar.inflight, "fetch-inflight")}
      </svg>
      <span class="hint">{line}</span>
    </li>
  );
}
