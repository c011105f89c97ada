// The recommender's answers: `GET /v1/jobs/:name/recommendation` and `GET /v1/recommendations` (every
// job), each the current and recommended resources with the evidence and what `adapt` would do.
import { namespaceFilter } from "../http/namespaces.ts";
import type { Recommendation } from "../../model/index.ts";
import type { ServerContext } from "../context.ts";
import { sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { jobRecommendation } from "../recommend/gather.ts";
import { DefaultRecommendPolicy } from "../recommend/recommend.ts";
import { apiJobOf } from "./job-scope.ts";
import { notFound } from "./jobs.ts";

/** Registers the recommendation routes. */
export function recommendRoutes(r: Router, ctx: ServerContext): void {
  const policy = ctx.recommendPolicy ?? DefaultRecommendPolicy;
  r.add("GET", "/v1/jobs/:name/recommendation", "admin", async ({ res, params }) => {
    const name = params["name"] ?? "";
    const got = await jobRecommendation(ctx, name, policy);
    if (!got) throw notFound(name);
    sendJson(res, 200, apiJobOf(got.rec));
  });
  r.add("GET", "/v1/recommendations", "admin", async ({ res, principal, namespace }) => {
    const out: Recommendation[] = [];
    const visible = namespaceFilter(principal, namespace);
    for (const name of [...ctx.mirror.jobs.keys()].filter(visible).sort()) {
      const got = await jobRecommendation(ctx, name, policy);
      if (got) out.push(got.rec);
    }
    sendJson(res, 200, out.map(apiJobOf));
  });
}
