// The shell: login until the server accepts a token, then one live watch for the tab, the
// navigation and the page of the location hash.

import { useEffect, useMemo, useState } from "preact/hooks";
import type { Whoami } from "../../src/api/index.ts";
import { clientFor } from "./client.ts";
import { clearToken, saveToken, takeToken } from "./session.ts";
import { Live } from "./live.ts";
import type { LiveEnd } from "./live.ts";
import { routeOf, tokenFromHash } from "./route.ts";
import type { Route } from "./route.ts";
import { Login } from "./pages/login.tsx";
import { Fleet } from "./pages/fleet.tsx";
import { Jobs } from "./pages/jobs.tsx";
import { JobPage } from "./pages/job.tsx";
import { Events } from "./pages/events.tsx";
import { TaskLog } from "./pages/task-log.tsx";
import { Packages } from "./pages/packages.tsx";
import { Maintenance } from "./pages/maintenance.tsx";
import { useLive } from "./hooks.ts";

/** The whole page. */
export function App() {
  const [token, setToken] = useState<string | null>(() => takeToken());
  const [refused, setRefused] = useState<string | null>(null);
  // A login link opened in a tab already showing the page changes only the fragment: no load.
  useEffect(() => {
    const on = (): void => {
      if (tokenFromHash(location.hash) === null) return;
      setRefused(null);
      setToken(takeToken());
    };
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  if (token === null)
    return (
      <Login
        message={refused}
        onToken={(t) => {
          saveToken(t);
          setRefused(null);
          setToken(t);
        }}
      />
    );
  return (
    <Dashboard
      key={token}
      token={token}
      onRefused={(why) => {
        clearToken();
        setRefused(why);
        setToken(null);
      }}
    />
  );
}

function Dashboard({ token, onRefused }: { token: string; onRefused: (why: string) => void }) {
  const client = useMemo(() => clientFor(token), [token]);
  const live = useMemo(() => new Live(), [token]);
  const [route, setRoute] = useState<Route>(() => routeOf(location.hash));
  // A job's pages call the API in the job's own namespace (one client per namespace: the pages'
  // effects restart when their client changes).
  const jobNs = route.page === "job" || route.page === "task" ? route.namespace : "default";
  const jobClient = useMemo(() => client.inNamespace(jobNs), [client, jobNs]);
  const [failure, setFailure] = useState<string | null>(null);
  // The token's policy: actions it may not take are not offered.
  const [who, setWho] = useState<Whoami | null>(null);
  useEffect(() => {
    client.whoami().then(setWho, () => setWho(null));
  }, [client]);
  useEffect(() => {
    live.start(client, (end: LiveEnd) => {
      if (end.kind === "unauthorized") onRefused("The server refused the token. Log in again.");
      else setFailure(end.message);
    });
    return () => live.stop();
  }, [live]);
  useEffect(() => {
    const on = (): void => setRoute(routeOf(location.hash));
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  useLive(live);
  const refuse = (err: unknown): void => {
    if (err instanceof Error && "code" in err && err.code === "TIFFIN_UNAUTHORIZED") onRefused("The server refused the token. Log in again.");
  };
  const tab = route.page === "job" || route.page === "task" ? "jobs" : route.page;
  const link = (page: string, label: string) => (
    <a href={`#/${page}`} aria-current={tab === page ? "page" : undefined} class={tab === page ? "current" : ""}>
      {label}
    </a>
  );
  return (
    <div class="shell">
      <header>
        <span class="brand">Tiffin</span>
        <nav aria-label="Pages">
          {link("fleet", "Fleet")}
          {link("jobs", "Jobs")}
          {link("events", "Events")}
          {link("maintenance", "Maintenance")}
          {link("packages", "Packages")}
        </nav>
        <span class={`conn ${live.connected ? "on" : "off"}`} role="status">
          {live.connected ? (live.synced ? "live" : "loading…") : "reconnecting…"}
        </span>
        <button
          type="button"
          onClick={() => {
            clearToken();
            location.hash = "";
            location.reload();
          }}
        >
          Log out
        </button>
      </header>
      {failure !== null && (
        <p class="error" role="alert">
          The live view stopped: {failure}
        </p>
      )}
      <main id="main">
        {route.page === "fleet" && <Fleet live={live} client={client} host={route.host} who={who} onError={refuse} />}
        {route.page === "jobs" && <Jobs live={live} client={client} onError={refuse} />}
        {route.page === "job" && <JobPage key={`${route.namespace}/${route.name}`} live={live} client={jobClient} name={route.name} who={who} onError={refuse} />}
        {route.page === "events" && <Events live={live} />}
        {route.page === "packages" && <Packages live={live} client={client} onError={refuse} />}
        {route.page === "maintenance" && <Maintenance live={live} client={client} who={who} onError={refuse} />}
        {route.page === "task" && <TaskLog client={jobClient} job={route.job} index={route.index} onError={refuse} />}
      </main>
    </div>
  );
}
