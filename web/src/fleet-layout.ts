// The fleet map's geometry and colours, pure: hosts grouped region > datacenter > cluster > rack,
// each rack a labelled row of cells that wraps at the canvas width. The canvas draws what this
// returns and maps clicks back through `cellAt`; no DOM node per host, so 10,000 hosts stay cheap.

import type { HostStatus } from "../../src/api/index.ts";

/** A host's state on the map, worst first in `StateOrder`. */
export type CellState = "down" | "suspect" | "failing" | "draining" | "upgrading" | "up";

/** Worst first: the legend's order. */
export const StateOrder: readonly CellState[] = ["down", "suspect", "failing", "draining", "upgrading", "up"];

/** Fill colour of each state (contrast checked against the white labels and the dark page). */
export const StateColours: Record<CellState, string> = {
  up: "#2e9b57",
  upgrading: "#3b7dd8",
  draining: "#c98a16",
  failing: "#d4622a",
  suspect: "#9b59b6",
  down: "#b3261e",
};

/** What the map needs to know of one host. */
export interface FleetHost {
  id: string;
  name: string;
  region: string;
  datacenter: string;
  cluster: string;
  rack: string;
  state: CellState;
  /** Booked CPU and memory as fractions of capacity, 0..1. */
  cpu: number;
  memory: number;
}

/** Picks a host's map state: liveness first (down, suspect), then a failing health check on one of its
 * tasks, then draining, upgrading, up. */
export function cellStateOf(status: HostStatus, draining: boolean, failingChecks: boolean): CellState {
  if (status === "down") return "down";
  if (status === "suspect") return "suspect";
  if (failingChecks) return "failing";
  if (draining) return "draining";
  return status === "upgrading" ? "upgrading" : "up";
}

/** Sizes of the map, in CSS pixels. */
export interface LayoutOptions {
  width: number;
  cell: number;
  gap: number;
  /** Height of a group heading (region/datacenter/cluster) line. */
  heading: number;
  /** Width kept left of each rack's row for its name. */
  label: number;
}

/** Defaults of LayoutOptions but the width. */
export const DefaultLayout: Omit<LayoutOptions, "width"> = { cell: 18, gap: 3, heading: 26, label: 110 };

/** The layout for `hosts` hosts at `width`: big cells for a small fleet, small ones past 200 hosts. */
export function layoutOptionsFor(hosts: number, width: number): LayoutOptions {
  return { ...DefaultLayout, width, cell: hosts <= 200 ? 32 : DefaultLayout.cell, gap: hosts <= 200 ? 4 : DefaultLayout.gap };
}

/** A drawn host. */
export interface Cell {
  host: FleetHost;
  x: number;
  y: number;
}

/** A drawn text: a group heading or a rack's name. */
export interface Label {
  text: string;
  x: number;
  y: number;
  kind: "group" | "rack";
}

/** Everything to draw, and the height it needs. */
export interface Layout {
  cells: Cell[];
  labels: Label[];
  height: number;
  size: number;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Lays the hosts out; the same hosts in any order give the same layout. */
export function layoutFleet(hosts: readonly FleetHost[], opts: LayoutOptions): Layout {
  const sorted = [...hosts].sort(
    (a, b) => byText(a.region, b.region) || byText(a.datacenter, b.datacenter) || byText(a.cluster, b.cluster) || byText(a.rack, b.rack) || byText(a.name, b.name) || byText(a.id, b.id),
  );
  const step = opts.cell + opts.gap;
  const perRow = Math.max(1, Math.floor((opts.width - opts.label) / step));
  const cells: Cell[] = [];
  const labels: Label[] = [];
  let y = 0;
  let group = "";
  let rack = "";
  let col = 0;
  for (const h of sorted) {
    const g = `${h.region} / ${h.datacenter} / ${h.cluster}`;
    if (g !== group) {
      if (group !== "") y += step;
      labels.push({ text: g, x: 0, y, kind: "group" });
      y += opts.heading;
      group = g;
      rack = "";
    }
    if (h.rack !== rack) {
      if (rack !== "") y += step;
      labels.push({ text: h.rack, x: 0, y, kind: "rack" });
      rack = h.rack;
      col = 0;
    } else if (col === perRow) {
      y += step;
      col = 0;
    }
    cells.push({ host: h, x: opts.label + col * step, y });
    col++;
  }
  return { cells, labels, height: cells.length > 0 ? y + step : 0, size: opts.cell };
}

/** The cell under a point, or null. */
export function cellAt(layout: Layout, x: number, y: number): Cell | null {
  for (const c of layout.cells) if (x >= c.x && x < c.x + layout.size && y >= c.y && y < c.y + layout.size) return c;
  return null;
}

/** Counts of hosts by state, for the legend and the canvas's accessible name. */
export function countStates(hosts: readonly FleetHost[]): Record<CellState, number> {
  const out: Record<CellState, number> = { down: 0, suspect: 0, failing: 0, draining: 0, upgrading: 0, up: 0 };
  for (const h of hosts) out[h.state]++;
  return out;
}

/** Fleets up to this many hosts are read every SuspectReadMs (see hostsReadEveryMs). */
export const SuspectReadHosts = 1000;

/** Under the time a host stays suspect before it is down (3 s to 5 s without a heartbeat, the
 * server's default timing): a read this often sees every suspect host. */
export const SuspectReadMs = 1500;

/** How often the fleet page reads GET /v1/hosts, which alone says `suspect` (no watch event marks
 * it: the server decides it from heartbeats it does not store). Read every 5 s, a host that went
 * quiet was shown suspect 2 times in 5, and up then down otherwise. Big fleets stay at 5 s: their
 * answer is megabytes, and the watch still shows down at once. */
export function hostsReadEveryMs(hosts: number): number {
  return hosts <= SuspectReadHosts ? SuspectReadMs : 5000;
}
