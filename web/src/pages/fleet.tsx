// The fleet: every host a cell on a canvas, grouped region > datacenter > cluster > rack, coloured by
// state, with two bars of booked CPU and memory. Click a cell (or move with the arrow keys and press
// Enter) to open the host. Liveness and drain come from the watch; `suspect`, the booked resources
// and the failing tasks from GET /v1/hosts, read again when hosts change or an attempt turns
// unhealthy or back (the changes stream's cue), and every 1.5 s (5 s past 1,000 hosts:
// `hostsReadEveryMs`).

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { ApiClient, Host, HostView, Whoami } from "../../../src/api/index.ts";
import { canDo } from "../permissions.ts";
import type { Live } from "../live.ts";
import { useLive, useRead } from "../hooks.ts";
import { cellAt, cellStateOf, countStates, DefaultLayout, hostsReadEveryMs, layoutFleet, layoutOptionsFor, StateColours, StateOrder } from "../fleet-layout.ts";
import type { FleetHost, Layout } from "../fleet-layout.ts";
import { HostPanel } from "./host.tsx";
import { hashOf } from "../route.ts";

/** The hosts as the map draws them: GET /v1/hosts first (it answers long before the watch has listed
 * a big cluster's tasks), then the watch's hosts and liveness, which are newer once it has synced. */
export function fleetHosts(live: Live, views: readonly HostView[] | null): FleetHost[] {
  const byId = new Map((views ?? []).map((v) => [v.id, v]));
  const records = new Map<string, Host>(byId);
  if (live.synced) {
    records.clear();
    for (const [id, h] of live.hosts) records.set(id, h);
  }
  return [...records.values()].map((h) => {
    const v = byId.get(h.id);
    // The watch knows down at once (the lease is gone); the view knows suspect.
    const status = !live.synced ? (v?.status ?? "down") : !live.alive.has(h.id) ? "down" : v !== undefined && v.status !== "down" ? v.status : "up";
    return {
      id: h.id,
      name: h.name,
      region: h.domain.region,
      datacenter: h.domain.datacenter,
      cluster: h.domain.cluster,
      rack: h.domain.rack,
      state: cellStateOf(status, h.draining, (v?.unhealthy ?? 0) > 0),
      cpu: v !== undefined && h.cores > 0 ? Math.min(1, v.used.cpu / h.cores) : 0,
      memory: v !== undefined && h.memoryMiB > 0 ? Math.min(1, v.used.memoryMiB / h.memoryMiB) : 0,
    };
  });
}

/** The fleet page; `host` is the open host's id, if any. */
export function Fleet({ live, client, host, who, onError }: { live: Live; client: ApiClient; host: string | null; who: Whoami | null; onError: (err: unknown) => void }) {
  useLive(live);
  // Bookings change with placements (the jobs' cue); liveness and drains with the fleet's.
  const views = useRead(() => client.hosts().catch((err: unknown) => (onError(err), Promise.reject(err))), `${live.fleetVersion}:${live.jobsVersion}`, 2000, hostsReadEveryMs(live.synced ? live.hosts.size : Infinity));
  const hosts = useMemo(() => fleetHosts(live, views.data), [live.fleetVersion, views.data]);
  const counts = countStates(hosts);
  const open = host !== null ? (live.hosts.get(host) ?? views.data?.find((v) => v.id === host)) : undefined;
  return (
    <section class="fleet" aria-labelledby="fleet-h">
      <h1 id="fleet-h">Fleet</h1>
      <ul class="legend" aria-label="Host states">
        {StateOrder.map((s) => (
          <li key={s}>
            <span class="swatch" style={{ background: StateColours[s] }} aria-hidden="true" />
            {s === "failing" ? "failing checks" : s} <b>{counts[s]}</b>
          </li>
        ))}
      </ul>
      <div class="fleet-body">
        <FleetCanvas hosts={hosts} selected={host} onOpen={(id) => (location.hash = hashOf({ page: "fleet", host: id }))} />
        {open !== undefined && (
          <HostPanel live={live} client={client} host={open} canDrain={canDo(who, "drain")} view={views.data?.find((v) => v.id === open.id) ?? null} onError={onError} onClose={() => (location.hash = hashOf({ page: "fleet", host: null }))} />
        )}
      </div>
      {views.error !== null && <p class="error">Host figures: {views.error}</p>}
    </section>
  );
}

function FleetCanvas({ hosts, selected, onOpen }: { hosts: FleetHost[]; selected: string | null; onOpen: (id: string) => void }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(800);
  const [cursor, setCursor] = useState(0);
  useEffect(() => {
    const el = ref.current?.parentElement;
    if (!el) return undefined;
    const ro = new ResizeObserver(() => setWidth(Math.max(300, el.clientWidth)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const opts = layoutOptionsFor(hosts.length, width);
  const layout = useMemo(() => layoutFleet(hosts, opts), [hosts, width, opts.cell]);
  const focused = layout.cells[Math.min(cursor, layout.cells.length - 1)];
  useEffect(() => draw(ref.current, layout, width, selected, focused?.host.id ?? null), [layout, width, selected, focused]);
  const counts = countStates(hosts);
  const label = `Fleet map: ${hosts.length} hosts, ${StateOrder.filter((s) => counts[s] > 0)
    .map((s) => `${counts[s]} ${s}`)
    .join(", ")}. Arrow keys move between hosts, Enter opens one.`;
  const onKey = (e: KeyboardEvent): void => {
    const n = layout.cells.length;
    if (n === 0) return;
    const perRow = Math.max(1, Math.floor((width - opts.label) / (opts.cell + opts.gap)));
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow, Home: -n, End: n };
    const d = moves[e.key];
    if (d !== undefined) {
      e.preventDefault();
      setCursor((c) => Math.max(0, Math.min(n - 1, c + d)));
    } else if ((e.key === "Enter" || e.key === " ") && focused) {
      e.preventDefault();
      onOpen(focused.host.id);
    }
  };
  return (
    <div class="canvas-wrap">
      <canvas
        ref={ref}
        tabIndex={0}
        role="img"
        aria-label={label}
        onKeyDown={onKey}
        onClick={(e) => {
          const r = e.currentTarget.getBoundingClientRect();
          const c = cellAt(layout, e.clientX - r.left, e.clientY - r.top);
          if (c) {
            setCursor(layout.cells.indexOf(c));
            onOpen(c.host.id);
          }
        }}
      />
      <p class="sr-only" aria-live="polite">
        {focused ? `${focused.host.name}: ${focused.host.state}, CPU ${Math.round(focused.host.cpu * 100)}%, memory ${Math.round(focused.host.memory * 100)}%` : ""}
      </p>
      {hosts.length === 0 && <p>No hosts have registered yet.</p>}
    </div>
  );
}

function draw(canvas: HTMLCanvasElement | null, layout: Layout, width: number, selected: string | null, focused: string | null): void {
  const ctx = canvas?.getContext("2d");
  if (!canvas || !ctx) return;
  const dpr = window.devicePixelRatio || 1;
  const height = Math.max(40, layout.height);
  canvas.width = Math.floor(width * dpr);
  canvas.height = Math.floor(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.textBaseline = "top";
  for (const l of layout.labels) {
    ctx.fillStyle = l.kind === "group" ? "#e8eaed" : "#b8bcc4";
    ctx.font = l.kind === "group" ? "600 13px system-ui, sans-serif" : "12px system-ui, sans-serif";
    ctx.fillText(l.text, l.x, l.y + (l.kind === "group" ? 4 : 3), DefaultLayout.label - 6);
  }
  const s = layout.size;
  for (const c of layout.cells) {
    ctx.fillStyle = StateColours[c.host.state];
    ctx.fillRect(c.x, c.y, s, s);
    // Booked CPU (left) and memory (right), as bars rising from the bottom.
    ctx.fillStyle = "rgba(0,0,0,0.45)";
    const bw = Math.floor(s / 2) - 2;
    ctx.fillRect(c.x + 1, c.y + s - 1 - Math.round(c.host.cpu * (s - 2)), bw, Math.round(c.host.cpu * (s - 2)));
    ctx.fillRect(c.x + s - 1 - bw, c.y + s - 1 - Math.round(c.host.memory * (s - 2)), bw, Math.round(c.host.memory * (s - 2)));
    if (c.host.id === selected || c.host.id === focused) {
      ctx.strokeStyle = c.host.id === selected ? "#ffffff" : "#ffd54a";
      ctx.lineWidth = 2;
      ctx.strokeRect(c.x - 1, c.y - 1, s + 2, s + 2);
    }
  }
}
