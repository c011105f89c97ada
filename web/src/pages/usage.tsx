// A task's CPU and memory over the kept history (GET /v1/tasks/:job/:index/usage, per-minute samples,
// what `tiffin recommend` reads), each against the spec's limit, drawn as small SVG line charts
// (chart.ts lays them out). Read again every 30 s: a sample is written once a minute.

import type { ApiClient } from "../../../src/api/index.ts";
import { useRead } from "../hooks.ts";
import { chartShape } from "../chart.ts";
import type { ChartPoint } from "../chart.ts";
import { clock, mib } from "../format.ts";

const W = 360;
const H = 80;

/** The usage charts of one task. */
export function UsageCharts({ client, job, index, onError }: { client: ApiClient; job: string; index: number; onError: (err: unknown) => void }) {
  const fail = (err: unknown): Promise<never> => (onError(err), Promise.reject(err));
  const samples = useRead(() => client.usage(job, index).catch(fail), `${job}/${index}`, 500, 30_000);
  const status = useRead(() => client.job(job).catch(fail), job, 500);
  const spec = status.data?.spec ?? null;
  const data = samples.data ?? [];
  if (samples.error !== null) return <p class="error">{samples.error}</p>;
  if (samples.data === null) return <p>Loading usage…</p>;
  if (data.length === 0) return <p>No usage samples yet: the agent reports one a minute while the task runs.</p>;
  const cpu: ChartPoint[] = data.map((s) => ({ at: s.at, value: s.cpuCores }));
  const mem: ChartPoint[] = data.map((s) => ({ at: s.at, value: s.memoryMaxBytes ?? s.memoryBytes }));
  const from = data[0]?.at ?? 0;
  const to = data.at(-1)?.at ?? from;
  return (
    <div class="charts">
      <Chart title="CPU (cores)" points={cpu} limit={spec?.resources.cpu ?? null} show={(v) => v.toFixed(2)} />
      <Chart title="Memory" points={mem} limit={spec ? spec.resources.memoryMiB * 1048576 : null} show={(v) => mib(v / 1048576)} />
      <p class="hint">
        {data.length === 1 ? "1 sample" : `${data.length} samples`}, {clock(from)} to {clock(to)}; the dashed line is the spec's limit.
      </p>
    </div>
  );
}

function Chart({ title, points, limit, show }: { title: string; points: ChartPoint[]; limit: number | null; show: (v: number) => string }) {
  const shape = chartShape(points, limit, W, H);
  const label = `${title}: ${shape.last !== null ? show(shape.last) : "not sampled"}${limit !== null ? ` of ${show(limit)}` : ""}`;
  return (
    <figure class="chart">
      <figcaption>{label}</figcaption>
      <svg width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label}>
        <rect x="0" y="0" width={W} height={H} class="frame" />
        {shape.limitY !== null && <line x1="0" x2={W} y1={shape.limitY} y2={shape.limitY} class="limit" />}
        <path d={shape.path} class="series" />
        {shape.dot !== null && <circle cx={shape.dot.x} cy={shape.dot.y} r="3" class="dot" />}
      </svg>
    </figure>
  );
}
