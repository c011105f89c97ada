// Each task's metric checks as the metrics view shows them (`GET /v1/jobs/:name/metrics`, so `tiffin
// top`): the agent's latest verdict of every check of the spec (ok, failing since T, fired at T with
// the value) and what the server did with a fired one (waiting, held back by the job's disruption
// budget since T, acting). Pure.
import type { MetricCheckView } from "../api/types.ts";
import { describeCondition } from "../model/index.ts";
import type { MetricAction, MetricCheckVerdict, MetricHealthCheck } from "../model/index.ts";

/** The view of every check in `checks`, from the latest `verdicts` (none: unknown) and the attempt's `action`. */
export function metricCheckViews(checks: readonly MetricHealthCheck[], verdicts: readonly MetricCheckVerdict[] | undefined, action: MetricAction | undefined): MetricCheckView[] {
  return checks.map((c, i): MetricCheckView => {
    const v = verdicts?.find((x) => x.check === i);
    const mine = action?.check === i ? action : undefined;
    return {
      check: i,
      condition: describeCondition(c.signal, c),
      action: c.action,
      state: v?.state ?? "unknown",
      value: v?.value ?? null,
      since: v?.since ?? null,
      at: v?.at ?? null,
      taken: mine === undefined ? null : mine.state === "acting" ? "acting" : mine.held !== null ? "held" : "waiting",
      heldSince: mine?.state === "waiting" && mine.held !== null ? mine.held.at : null,
    };
  });
}
