// Namespaces (issue 17) on a real server process and a real agent: three jobs called `web` (in
// default, team-a and team-b) run side by side, each task told its own namespace; each namespace's
// calls see only its own job (status, logs, history, stop); a token with write on ns/team-a applies
// there, gets 403 in default, and lists and watches only team-a; `uses` names another namespace's
// service as NS/NAME and the stored spec keeps it apart from a same-named service of its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiClient } from "../api/client.ts";
import type { WatchMessage } from "../api/watch-types.ts";
import type { JobSpec } from "../model/index.ts";
import { serverAndAgent } from "./real-server.ts";
import { testSpec, waitFor } from "./test-fixtures.ts";
/** A plain process's spec (the agent layer may not import the spec compiler): testSpec with these fields. */
function spec(v: { name: string; namespace?: string; command: string[]; ports?: Record<string, object>; uses?: string[] }): JobSpec {
  return testSpec({
    name: v.name,
    ...(v.namespace !== undefined ? { namespace: v.namespace } : {}),
    command: v.command,
    resources: { cpu: 0.05, memoryMiB: 32, diskMiB: 16 },
    spread: "rack",
    ports: Object.keys(v.ports ?? {}),
    isolation: "none",
    network: "host",
    mounts: [],
    ...(v.uses !== undefined ? { uses: v.uses.map((service) => ({ service, min: 1 })) } : {}),
  });
}

/** waitFor, with a failing call taken as "not yet" (a job not applied yet answers 404). */
function until<T>(what: string, fn: () => Promise<T | null>, ms = 20_000): Promise<NonNullable<T>> {
  return waitFor(what, () => fn().catch(() => null), ms);
}

async function text(gen: AsyncGenerator<string>): Promise<string> {
  let out = "";
  for await (const c of gen) out += c;
  return out;
}

void test("two namespaces' same-named jobs run side by side; calls, tokens, lists and the watch stay in their namespace", async (t) => {
  const { server } = await serverAndAgent(t, { prefix: "tiffin-ns-", name: "ns-1" });
  const admin = new ApiClient({ addr: server.url, token: server.adminToken });
  const web = (ns: string | null): JobSpec => spec({ name: "web", ...(ns ? { namespace: ns } : {}), command: ["sh", "-c", 'echo "I am $JOB_NAME of $JOB_NAMESPACE"; exec sleep 600'], ports: { http: {} } });
  const inNs = { default: admin, "team-a": admin.inNamespace("team-a"), "team-b": admin.inNamespace("team-b") };
  const applied = await Promise.all([inNs.default.apply(web(null)), inNs["team-a"].apply(web("team-a")), inNs["team-b"].apply(web("team-b"))]);
  assert.deepEqual(applied.map((a) => [a.namespace ?? "default", a.name, a.version]), [["default", "web", 1], ["team-a", "web", 1], ["team-b", "web", 1]], "three versions 1 of three jobs");

  // Each runs, and its task knows its own namespace.
  for (const [ns, c] of Object.entries(inNs)) {
    const st = await until(`web of ${ns} running`, async () => {
      const s = await c.job("web");
      return s.tasks[0]?.state === "running" ? s : null;
    });
    assert.equal(st.name, "web");
    assert.equal(st.namespace ?? "default", ns);
    assert.equal(st.spec.name, "web", "the spec is shown with its plain name");
    const log = await until(`the log of web/0 in ${ns}`, async () => {
      const l = await text(c.logs("web", 0));
      return l.includes("I am") ? l : null;
    });
    assert.equal(log, `I am web of ${ns}\n`);
  }
  const pids = await Promise.all(Object.values(inNs).map(async (c) => (await c.job("web")).tasks[0]?.pid));
  // What users read never holds the internal id `web.team-a`: status (tasks, attempts), metrics,
  // recommendations (one and every namespace's), a log's attempt headers, a missing task's error.
  const ta = inNs["team-a"];
  const read = await Promise.all([ta.job("web"), ta.jobMetrics("web"), ta.recommendation("web"), admin.inNamespace("*").recommendations(), text(ta.logs("web", 0, { allAttempts: true })), ta.job("web").then(async () => text(ta.logs("web", 7))).catch((err: unknown) => String(err))]);
  for (const [i, r] of read.entries()) assert.ok(!JSON.stringify(r).includes(".team-a"), `answer ${i} shows no id: ${JSON.stringify(r)}`);
  assert.deepEqual([read[0].tasks[0]?.id, read[0].tasks[0]?.attempts[0]?.job], ["web/0", "web"]);
  assert.deepEqual(read[3].map((x) => [(x as { namespace?: string }).namespace ?? "default", x.job]).sort(), [["default", "web"], ["team-a", "web"], ["team-b", "web"]]);
  assert.match(read[5], /task web\/7 \(namespace team-a\) not found/);
  assert.equal(new Set(pids).size, 3, `three processes: ${pids.join(",")}`);

  // Listing: one namespace by default, every one with "*", each named apart.
  assert.deepEqual((await admin.jobs()).map((j) => [j.namespace ?? "default", j.name]), [["default", "web"]]);
  const all = await admin.inNamespace("*").jobs();
  assert.deepEqual(all.map((j) => [j.namespace ?? "default", j.name]).sort(), [["default", "web"], ["team-a", "web"], ["team-b", "web"]]);
  assert.deepEqual((await admin.inNamespace("*").services()).map((s) => [s.namespace ?? "default", s.name]).sort(), [["default", "web"], ["team-a", "web"], ["team-b", "web"]]);

  // A team-a token: writes there, 403 elsewhere, and sees only team-a in lists and the watch.
  const made = await admin.createToken({ name: "team-a", policy: ["ns/team-a=write,logs"] });
  const teamA = new ApiClient({ addr: server.url, token: made.secret, namespace: "team-a" });
  const teamAInDefault = new ApiClient({ addr: server.url, token: made.secret });
  await assert.rejects(teamAInDefault.apply(web(null)), { code: "TIFFIN_FORBIDDEN", message: /needs write on ns\/default/ });
  await assert.rejects(teamAInDefault.job("web"), { code: "TIFFIN_FORBIDDEN", message: /needs read on ns\/default/ });
  await assert.rejects(teamA.inNamespace("team-b").logs("web", 0).next(), { code: "TIFFIN_FORBIDDEN", message: /needs logs on ns\/team-b/ });
  // An id in a path would reach into another namespace past its rule: refused.
  await assert.rejects(inNs.default.job("web.team-b"), { code: "TIFFIN_BAD_REQUEST", message: /not a job name/ });
  await assert.rejects(teamA.apply(web("team-b")), { code: "TIFFIN_BAD_REQUEST", message: /says namespace "team-b", but the request is for namespace "team-a"/ });
  const v2 = await teamA.apply({ ...web("team-a"), env: { V: "2" } });
  assert.deepEqual([v2.namespace, v2.name, v2.version, v2.changed], ["team-a", "web", 2, true]);
  assert.deepEqual((await teamA.inNamespace("*").jobs()).map((j) => [j.namespace, j.name]), [["team-a", "web"]], "a listing of every namespace shows only the readable ones");
  assert.deepEqual((await inNs.default.versions("web")).map((v) => v.version), [1], "default's web kept its one version");
  assert.deepEqual((await teamA.versions("web")).map((v) => [v.namespace, v.name, v.version]), [["team-a", "web", 1], ["team-a", "web", 2]]);

  // The watch: an admin watch of team-b sees its job only; team-a's token watching every namespace
  // gets team-a's objects only. (A watch needs read on hosts too: granted for this part.)
  const watcher = await admin.createToken({ name: "team-a-watch", policy: ["ns/team-a=read", "hosts=read"] });
  const seen = async (c: ApiClient): Promise<string[]> => {
    const ac = new AbortController();
    const names: string[] = [];
    for await (const m of c.watch({ kinds: ["job", "task"], signal: ac.signal }) as AsyncGenerator<WatchMessage>) {
      if (m.type === "bookmark") break;
      if (m.type !== "reset") names.push(`${m.kind} ${m.name}`);
    }
    ac.abort();
    return names.sort();
  };
  assert.deepEqual(await seen(admin.inNamespace("team-b")), ["job web.team-b", "task web.team-b/0"]);
  assert.deepEqual(await seen(new ApiClient({ addr: server.url, token: watcher.secret, namespace: "*" })), ["job web.team-a", "task web.team-a/0"]);

  // uses: NS/NAME is another namespace's service; a plain name is the job's own namespace's.
  const client = spec({ name: "client", namespace: "team-a", command: ["sleep", "600"], uses: ["team-b/web", "web"] });
  const c1 = await teamA.apply(client);
  assert.equal(c1.version, 1);
  assert.deepEqual((await teamA.job("client")).spec.uses, [{ service: "team-b/web", min: 1 }, { service: "web", min: 1 }], "shown as written");
  await assert.rejects(teamA.apply(spec({ name: "lost", namespace: "team-a", command: ["sleep", "1"], uses: ["team-c/web"] })), { code: "TIFFIN_SPEC_INVALID" });

  // Stopping team-b's web leaves the others running.
  await inNs["team-b"].removeJob("web");
  await until("team-b's web stopped", async () => ((await inNs["team-b"].job("web")).tasks.every((x) => x.state !== "running") ? true : null));
  // (team-a's runs its version 2 by now, or is starting it.)
  for (const c of [inNs.default, inNs["team-a"]]) await until("the others still running", async () => ((await c.job("web")).tasks[0]?.state === "running" ? true : null));
  assert.equal((await inNs.default.job("web")).tasks[0]?.pid, pids[0], "default's web never restarted");
});
