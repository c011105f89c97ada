// The page shown, from the location hash: `#/fleet`, `#/jobs`, `#/jobs/NAME`, `#/events`, `#/packages`, `#/maintenance`,
// `#/hosts/ID` (the fleet with one host open), `#/jobs/NAME/INDEX` (a task's log). A job of another namespace than
// "default" is `#/namespaces/NS/jobs/NAME[/INDEX]` (like Kubernetes' API paths). Hash routes need no server fallback and keep
// the path the server sees constant.

/** One page of the dashboard. */
export type Route =
  | { page: "fleet"; host: string | null }
  | { page: "jobs" }
  | { page: "job"; namespace: string; name: string }
  | { page: "task"; namespace: string; job: string; index: number }
  | { page: "events" }
  | { page: "packages" }
  | { page: "maintenance" };

/** Parses a location hash into a route; anything unknown is the fleet. */
export function routeOf(hash: string): Route {
  let parts = hash.replace(/^#\/?/, "").split("/").filter((p) => p !== "").map((p) => decodeURIComponent(p));
  let namespace = "default";
  if (parts[0] === "namespaces" && parts[1] !== undefined && parts[2] === "jobs") {
    namespace = parts[1];
    parts = parts.slice(2);
  }
  switch (parts[0]) {
    case "jobs":
      if (parts[1] !== undefined && parts[2] !== undefined && /^\d+$/.test(parts[2])) return { page: "task", namespace, job: parts[1], index: Number(parts[2]) };
      return parts[1] !== undefined ? { page: "job", namespace, name: parts[1] } : { page: "jobs" };
    case "events":
      return { page: "events" };
    case "packages":
      return { page: "packages" };
    case "maintenance":
      return { page: "maintenance" };
    case "hosts":
      return { page: "fleet", host: parts[1] ?? null };
    default:
      return { page: "fleet", host: null };
  }
}

/** The hash of a route (the inverse of routeOf). */
export function hashOf(route: Route): string {
  switch (route.page) {
    case "fleet":
      return route.host === null ? "#/fleet" : `#/hosts/${encodeURIComponent(route.host)}`;
    case "jobs":
      return "#/jobs";
    case "job":
      return `${jobsOf(route.namespace)}/${encodeURIComponent(route.name)}`;
    case "events":
      return "#/events";
    case "packages":
      return "#/packages";
    case "maintenance":
      return "#/maintenance";
    case "task":
      return `${jobsOf(route.namespace)}/${encodeURIComponent(route.job)}/${route.index}`;
  }
}

/** Where a namespace's job pages hang: `#/jobs` for "default", `#/namespaces/NS/jobs` else. */
function jobsOf(ns: string): string {
  return ns === "default" ? "#/jobs" : `#/namespaces/${encodeURIComponent(ns)}/jobs`;
}

/** The token in a location hash (`#token=abc`, maybe with other `&`-separated pairs), or null. */
export function tokenFromHash(hash: string): string | null {
  const params = new URLSearchParams(hash.replace(/^#\/?/, ""));
  const token = params.get("token");
  return token !== null && token.trim() !== "" ? token.trim() : null;
}
