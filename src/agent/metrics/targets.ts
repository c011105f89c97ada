// Which running tasks the scraper scrapes, and at what address: a pure mapping from the agent's
// running attempts (their ports and assigned specs) to ScrapeTargets.
import { isolationOf } from "../../model/index.ts";
import type { JobSpec } from "../../model/index.ts";
import { namedMetricsOf } from "../../model/judge/index.ts";
import type { ScrapeTarget } from "./scraper.ts";

/** Scrape targets of running attempts whose job declares `metrics`. Tasks on the host's network are
 * reached on 127.0.0.1 at their allocated port; a task in a private network namespace cannot be
 * reached from the agent yet (a target with `url` null, counted as a scrape error that says why). */
export function scrapeTargetsOf(running: readonly { id: string; ports: Record<string, number>; spec: JobSpec; startedAt?: number | null }[]): ScrapeTarget[] {
  const out: ScrapeTarget[] = [];
  for (const r of running) {
    const endpoint = r.spec.metrics;
    if (!endpoint) continue;
    const port = r.ports[endpoint.port];
    const iso = isolationOf(r.spec);
    // The named metrics the job's rollout checks compare: read from every scrape, reported raw.
    const names = namedMetricsOf(r.spec.rollout?.checks);
    const checks = {
      ...(r.spec.metricChecks && r.spec.metricChecks.length > 0 ? { checks: r.spec.metricChecks, startedAt: r.startedAt ?? null } : {}),
      ...(names.length > 0 ? { named: names } : {}),
    };
    if (iso.isolation === "sandbox" && iso.network === "private") {
      out.push({ attemptId: r.id, endpoint, url: null, unreachable: 'the task\'s network is "private": the agent cannot reach its metrics endpoint yet', ...checks });
    } else if (port === undefined) {
      out.push({ attemptId: r.id, endpoint, url: null, unreachable: `port "${endpoint.port}" was not allocated to the task`, ...checks });
    } else {
      out.push({ attemptId: r.id, endpoint, url: `http://127.0.0.1:${port}${endpoint.path}`, ...checks });
    }
  }
  return out;
}
