// The dashboard in a real browser (Debian's chromium driven by playwright-core, no browser download)
// against a real `tiffin dev`: a wrong or missing token shows the login page and no data; the URL
// tiffin dev prints logs in directly and the token leaves the address bar; the fleet shows the 3 dev
// hosts; a job applied from the CLI appears with its tasks without a reload; a host is drained from
// the UI through the same endpoint as `tiffin drain`; a task's log is followed; a task killed with
// SIGKILL shows the signal and its restart; an agent killed with SIGKILL turns its host suspect, then
// down, and its task moves; a package pinned by a job shows its fetch; the events feed shows it all. Each page is
// screenshot into test/web/screenshots/ (gitignored) and scanned with axe-core (no serious or
// critical violations). Keyboard only where it matters: the fleet map opens a host with Enter.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import type { Page } from "playwright-core";
import type { HostView, JobStatus, SwarmFetches } from "../../src/api/index.ts";
import { killStrays } from "../../src/cli/dev/strays.ts";
import { ensureUiBuilt } from "../../src/server/testing/ui-built.ts";
import { freePort, processesMentioning, waitFor } from "../harness.ts";

const bin = join(import.meta.dirname, "..", "..", "bin", "tiffin.js");
const shots = join(import.meta.dirname, "screenshots");
/** Debian's chromium (.ci/deps installs it); TIFFIN_CHROMIUM points elsewhere. */
const chromiumPath = process.env["TIFFIN_CHROMIUM"] ?? "/usr/bin/chromium";
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
}

/** Runs axe-core on the page; returns the serious and critical violations, described. */
async function axeProblems(page: Page): Promise<string[]> {
  // Evaluated through the devtools protocol: the page's CSP (rightly) refuses inline scripts.
  if (!(await page.evaluate(() => "axe" in globalThis))) await page.evaluate(axeSource);
  const result = await page.evaluate<AxeResult>(() => (globalThis as unknown as { axe: { run: () => Promise<AxeResult> } }).axe.run());
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

void test("the dashboard in chromium: login, live fleet and jobs, drain from the UI, events, accessibility", { timeout: 180_000, skip: existsSync(chromiumPath) ? false : `no chromium at ${chromiumPath} (.ci/deps installs Debian's)` }, async (t) => {
  ensureUiBuilt();
  mkdirSync(shots, { recursive: true });
  const home = mkdtempSync(join(tmpdir(), "tiffin-web-"));
  const data = join(home, "dev");
  const port = await freePort();
  const env = { ...process.env, HOME: home, TIFFIN_HOME: home, TIFFIN_ADDR: "", TIFFIN_TOKEN: "" };
  const dev = spawn(process.execPath, [bin, "dev", "--no-examples", "--data", data, "--listen", `127.0.0.1:${port}`], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  dev.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  dev.stderr.setEncoding("utf8").on("data", (c: string) => (out += c));
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
  let last: Page | null = null;
  t.after(async () => {
    // The page as it was when the test ended: a failure's evidence.
    await last?.screenshot({ path: join(shots, "last.png"), fullPage: true }).catch(() => undefined);
    await browser.close();
    if (dev.exitCode === null && dev.signalCode === null) dev.kill("SIGKILL");
    await killStrays(["dev-1", "dev-2", "dev-3"].map((n) => join(data, n)), 500);
    for (const pid of processesMentioning(home)) process.kill(pid, "SIGKILL");
    if (!process.env["TIFFIN_KEEP_TEST_DIRS"]) rmSync(home, { recursive: true, force: true });
  });
  const started = Date.now();
  await waitFor("tiffin dev to say it is ready", 60_000, () => {
    if (dev.exitCode !== null) throw new Error(`tiffin dev exited ${dev.exitCode}:\n${out}`);
    return /tiffin dev is ready/.test(out);
  });
  t.diagnostic(`tiffin dev ready after ${Date.now() - started} ms`);
  const base = `http://127.0.0.1:${port}`;
  const token = readFileSync(join(data, "server", "admin.token"), "utf8").trim();
  const dashboard = /^ {2}dashboard (\S+)/m.exec(out)?.[1];
  assert.equal(dashboard, `${base}/ui/#token=${encodeURIComponent(token)}`, "tiffin dev prints the URL that logs in");
  const cli = (...args: string[]): string => {
    const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, `tiffin ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  last = page;
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  // The browser logs every 401 it gets as an error; the wrong-token steps cause them on purpose.
  page.on("console", (m) => (m.type() === "error" && !/status of 401/.test(m.text()) ? pageErrors.push(`console: ${m.text()} at ${m.location().url}`) : undefined));
  const served: string[] = [];
  page.on("request", (r) => served.push(r.url()));

  // No token: the login page, no data. A wrong token: refused, still no data.
  await page.goto(`${base}/ui/`);
  await page.getByLabel("Admin token").waitFor();
  await page.getByLabel("Admin token").fill("not-the-token");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("alert").filter({ hasText: "The server refused this token." }).waitFor();
  assert.doesNotMatch(await page.content(), /dev-1|dev-2|dev-3/, "no host name on the login page");
  await page.screenshot({ path: join(shots, "login.png") });
  assert.deepEqual(await axeProblems(page), [], "login page");

  // The printed URL logs in; the token leaves the address bar at once.
  await page.goto(dashboard);
  const map = page.getByRole("img", { name: /^Fleet map: 3 hosts, 3 up\./ });
  await map.waitFor();
  assert.doesNotMatch(page.url(), /token/, "the token is out of the address bar");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("tiffin.token")), token);
  await page.evaluate(() => ((globalThis as unknown as { loaded: number }).loaded = 1));
  // Keyboard: focus the map, move right, Enter opens the second host.
  await map.focus();
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "dev-2", level: 2 }).waitFor();
  await page.getByText("Inventory").waitFor();
  await page.getByRole("heading", { name: "Tasks (0)", level: 3 }).waitFor();
  await page.screenshot({ path: join(shots, "fleet-host.png"), fullPage: true });
  assert.deepEqual(await axeProblems(page), [], "fleet page with a host open");

  // A job applied from the CLI appears, tasks and all, without a reload.
  await page.getByRole("link", { name: "Jobs", exact: true }).click();
  await page.getByRole("heading", { name: "Jobs", level: 1 }).waitFor();
  const spec = join(home, "hello.json");
  writeFileSync(spec, JSON.stringify({ name: "hello", command: ["node", "-e", "setInterval(() => console.log('tick'), 1000)"], replicas: 2, resources: { cpu: 0.1, memory: "32Mi", disk: "32Mi" } }));
  cli("apply", spec, "-m", "from the browser test");
  const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: "hello" }) });
  await waitFor("hello to show 2 running tasks on the jobs page", 30_000, async () => ((await row.count()) > 0 && (await row.locator("td").nth(5).innerText()) === "2" ? true : undefined));
  await page.screenshot({ path: join(shots, "jobs.png"), fullPage: true });
  assert.deepEqual(await axeProblems(page), [], "jobs page");
  await page.getByRole("link", { name: "hello" }).click();
  const tasks = page.getByRole("table", { name: "Tasks" });
  await waitFor("both tasks running on the job page", 30_000, async () => ((await tasks.locator("tbody tr").filter({ hasText: /running|healthy/ }).count()) === 2 ? true : undefined));
  assert.match(await page.getByRole("table", { name: "Versions" }).innerText(), /v1 \(current\)[\s\S]*from the browser test/);
  assert.match(await tasks.innerText(), /hello\/0[\s\S]*hello\/1/);
  await page.screenshot({ path: join(shots, "job.png"), fullPage: true });
  assert.deepEqual(await axeProblems(page), [], "job page");
  assert.equal(await page.evaluate(() => (globalThis as unknown as { loaded?: number }).loaded), 1, "no reload since login");

  // A task's log, followed: new lines arrive without a reload.
  await tasks.getByRole("link", { name: "hello/1 log" }).click();
  const log = page.getByRole("log", { name: "stdout of hello/1" });
  await waitFor("hello/1's log to show two ticks", 20_000, async () => ((await log.innerText()).split("tick").length > 2 ? true : undefined));
  // Its usage over time against the spec's limits (GET /v1/tasks/hello/1/usage, as recommend reads it).
  await page.getByRole("img", { name: /^CPU \(cores\): (\d+\.\d\d|not sampled) of 0\.10$/ }).waitFor({ timeout: 20_000 });
  await page.getByRole("img", { name: /^Memory: \d+ MiB of 32 MiB$/ }).waitFor();
  await page.screenshot({ path: join(shots, "task-log.png"), fullPage: true });
  assert.deepEqual(await axeProblems(page), [], "task log page");
  await page.goBack();
  await tasks.waitFor();

  // kill -9 hello/1: the attempt history shows the signal, and a new attempt runs, without a reload.
  const pid = Number(await tasks.locator("tbody tr").nth(1).locator("td").nth(5).innerText());
  assert.ok(pid > 1, `hello/1's pid: ${pid}`);
  process.kill(pid, "SIGKILL");
  const history = page.getByRole("table", { name: "Attempt history" });
  await waitFor("the killed attempt and its successor on the job page", 30_000, async () => {
    const rows = await history.locator("tbody tr").filter({ hasText: "hello/1" }).allInnerTexts();
    return rows.some((r) => /SIGKILL/.test(r)) && rows.some((r) => /running|healthy/.test(r)) ? true : undefined;
  });
  await page.screenshot({ path: join(shots, "job-killed.png"), fullPage: true });

  // A v2 from the CLI: the job page follows its rollout, phase by phase, to its end.
  writeFileSync(spec, JSON.stringify({ name: "hello", command: ["node", "-e", "setInterval(() => console.log('tick'), 1000)"], env: { V: "2" }, ports: ["http"], replicas: 2, resources: { cpu: 0.1, memory: "32Mi", disk: "32Mi" } }));
  cli("apply", spec, "--detach", "-m", "v2 from the browser test");
  await page.getByRole("heading", { name: /Rollout #\d+: v1 → v2/, level: 2 }).waitFor({ timeout: 15_000 });
  await waitFor("the rollout to succeed on the job page", 30_000, async () => (/succeeded/.test(await page.getByRole("heading", { name: /Rollout #/ }).innerText()) ? true : undefined));
  assert.match(await page.getByRole("table", { name: "Rollout phases" }).innerText(), /1: [\s\S]*passed/);
  // v2 names a port: its tasks are the endpoints of the service "hello" (as `tiffin endpoints hello`).
  const eps = page.getByRole("table", { name: "Service endpoints" });
  await waitFor("hello's endpoints on the job page", 15_000, async () => ((await eps.count()) > 0 && /hello\/0[\s\S]*http=127\.0\.0\.1:\d+[\s\S]*hello\/1/.test(await eps.innerText()) ? true : undefined));
  // What v2 changed, as `tiffin history hello --diff 1 2` prints it (the server's diff, read when opened).
  const v2 = page.getByRole("table", { name: "Versions" }).locator("tr[data-version='2']");
  await v2.getByText("since v1").click();
  await waitFor("v2's changes in the versions table", 15_000, async () => (/\+ env\.V = "2"/.test(await v2.innerText()) ? true : undefined));
  assert.match(await v2.innerText(), /\+ ports/);
  await page.screenshot({ path: join(shots, "job-rollout.png"), fullPage: true });
  assert.deepEqual(await axeProblems(page), [], "job page with a rollout");
  // Restart one task from its row: a new attempt of hello/0, as `tiffin restart hello --index 0`.
  const before = await history.locator("tbody tr").filter({ hasText: "hello/0" }).count();
  await page.getByRole("button", { name: "Restart hello/0" }).click();
  await waitFor("hello/0 restarted from the UI", 30_000, async () => ((await history.locator("tbody tr").filter({ hasText: "hello/0" }).count()) > before ? true : undefined));

  // Drain the host of hello/0 from the UI: the host link opens it on the fleet page.
  const hostName = await tasks.locator("tbody tr").first().locator("td").nth(2).innerText();
  await tasks.getByRole("link", { name: hostName }).first().click();
  // The panel's own watch (host=) lists the host's tasks, and drops the ones the drain moves away.
  const panel = page.getByRole("complementary");
  await waitFor(`hello/0 listed in ${hostName}'s panel`, 15_000, async () => (/hello\/0\s+(running|healthy)/.test(await panel.innerText()) ? true : undefined));
  await page.getByRole("button", { name: `Drain ${hostName}` }).click();
  await page.getByRole("button", { name: `Undrain ${hostName}` }).waitFor({ timeout: 15_000 });
  const hosts = JSON.parse(cli("hosts", "--json")) as HostView[];
  assert.deepEqual(hosts.filter((h) => h.draining).map((h) => h.name), [hostName], "the server has the host draining");
  await page.getByRole("img", { name: /1 draining/ }).waitFor();
  await waitFor(`hello/0 gone from ${hostName}'s panel`, 30_000, async () => (/hello\/0/.test(await panel.innerText()) ? undefined : true));
  await page.screenshot({ path: join(shots, "fleet-drained.png"), fullPage: true });
  assert.match(readFileSync(join(data, "server.log"), "utf8"), new RegExp(`"name":"${hostName}".*host draining`), "logged like `tiffin drain`");

  // kill -9 the agent of a host running a hello task (not the drained one): without a reload, its
  // cell and its panel turn suspect (no heartbeat for 3 s), then down (its lease ends at 5 s: the
  // dev cluster's liveness timeouts), and its tasks move to another host. tiffin dev starts the agent
  // again 10 s after it died.
  const api = async <T,>(p: string): Promise<T> => (await (await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token}` } })).json()) as T;
  const victim = (await api<JobStatus>("/v1/jobs/hello")).tasks.find((x) => x.hostName !== null && x.hostName !== hostName);
  assert.ok(victim?.hostId && victim.hostName, "a hello task on a host not drained");
  const agentPid = agentPidOf(victim.hostName);
  await page.evaluate((h) => ((globalThis as unknown as { location: { hash: string } }).location.hash = h), `#/hosts/${encodeURIComponent(victim.hostId)}`);
  await page.getByRole("heading", { name: victim.hostName, level: 2 }).waitFor();
  await waitFor(`${victim.id} listed in ${victim.hostName}'s panel`, 15_000, async () => (new RegExp(`${victim.id}\\s+(running|healthy)`).test(await panel.innerText()) ? true : undefined));
  process.kill(agentPid, "SIGKILL");
  const killedAt = Date.now();
  await page.getByRole("img", { name: /Fleet map: 3 hosts, .*1 suspect/ }).waitFor({ timeout: 10_000 });
  await panel.locator(".badge.suspect").waitFor({ timeout: 1000 });
  const suspectAfter = Date.now() - killedAt;
  await page.screenshot({ path: join(shots, "fleet-agent-suspect.png"), fullPage: true });
  await page.getByRole("img", { name: /Fleet map: 3 hosts, .*1 down/ }).waitFor({ timeout: 10_000 });
  await panel.locator(".badge.down").waitFor({ timeout: 1000 });
  const downAfter = Date.now() - killedAt;
  await waitFor(`${victim.id} gone from ${victim.hostName}'s panel`, 20_000, async () => (new RegExp(`${victim.id}\\b`).test(await panel.innerText()) ? undefined : true));
  t.diagnostic(`agent of ${victim.hostName} killed: suspect on the page after ${suspectAfter} ms, down after ${downAfter} ms, its tasks gone after ${Date.now() - killedAt} ms`);
  await page.screenshot({ path: join(shots, "fleet-agent-down.png"), fullPage: true });

  // Maintenance: the drained host is listed with what holds it; a window planned from the CLI shows
  // up planned, and Cancel ends it as `tiffin maintenance cancel` does.
  cli("maintenance", "add", "--host", "dev-2", "--start", "+1h", "--duration", "30m", "--reason", "kernel upgrade");
  await page.getByRole("link", { name: "Maintenance", exact: true }).click();
  await page.getByRole("heading", { name: "Draining hosts (1)", level: 2 }).waitFor();
  assert.match(await page.getByRole("table", { name: "Draining hosts" }).innerText(), new RegExp(`${hostName}[\\s\\S]*none \\(waits\\)`));
  const windows = page.getByRole("table", { name: "Maintenance windows" });
  await waitFor("the planned window on the maintenance page", 15_000, async () => ((await windows.count()) > 0 && /host dev-2[\s\S]*planned[\s\S]*kernel upgrade/.test(await windows.innerText()) ? true : undefined));
  await page.screenshot({ path: join(shots, "maintenance.png"), fullPage: true });
  assert.deepEqual(await axeProblems(page), [], "maintenance page");
  await windows.getByRole("button", { name: /^Cancel window / }).click();
  await waitFor("the window cancelled", 15_000, async () => (/cancelled/.test(await windows.innerText()) ? true : undefined));
  assert.match(cli("maintenance", "list"), /cancelled/);

  // A batch job: "Run now" starts a run as `tiffin run` does; its items end and the panel shows them.
  const batchSpec = join(home, "crunch.json");
  writeFileSync(batchSpec, JSON.stringify({ name: "crunch", command: ["sh", "-c", "exit 0"], batch: { items: ["a", "b", "c"], parallelism: 3 }, resources: { cpu: 0.1, memory: "32Mi", disk: "32Mi" } }));
  cli("apply", batchSpec);
  await page.getByRole("link", { name: "Jobs", exact: true }).click();
  await page.getByRole("link", { name: "crunch" }).click();
  await page.getByRole("heading", { name: "Runs", level: 2 }).waitFor();
  await page.getByRole("button", { name: "Run now" }).click();
  const runs = page.getByRole("table", { name: "Runs" });
  await waitFor("the run to succeed with 3 items on the job page", 30_000, async () => ((await runs.count()) > 0 && /succeeded[\s\S]*3 ok, 0 failed, 0 running of 3/.test(await runs.innerText()) ? true : undefined));
  await runs.locator("summary").first().click();
  assert.match(await runs.innerText(), /#0 succeeded · \S+ exited \(exit 0\)/);
  await page.screenshot({ path: join(shots, "job-runs.png"), fullPage: true });
  assert.deepEqual(await axeProblems(page), [], "batch job page");

  // A job of another namespace: listed with its namespace; its page calls the API in team-a.
  const sideSpec = join(home, "side.json");
  writeFileSync(sideSpec, JSON.stringify({ name: "side", namespace: "team-a", command: ["node", "-e", "setInterval(() => {}, 1000)"], resources: { cpu: 0.05, memory: "32Mi", disk: "32Mi" } }));
  cli("apply", sideSpec, "--detach");
  await page.getByRole("link", { name: "Jobs", exact: true }).click();
  const sideRow = page.getByRole("row").filter({ has: page.getByRole("link", { name: "side" }) });
  await waitFor("team-a's side on the jobs page", 15_000, async () => ((await sideRow.count()) > 0 && /^team-a\s+side\b/.test(await sideRow.innerText()) ? true : undefined));
  assert.match(await page.getByRole("row").filter({ has: page.getByRole("link", { name: "hello" }) }).innerText(), /^default\s+hello\b/);
  await page.getByRole("link", { name: "side" }).click();
  await waitFor("side/0 running on its page", 20_000, async () => (/side\/0[\s\S]*(running|healthy)/.test(await page.getByRole("table", { name: "Tasks" }).innerText()) ? true : undefined));
  assert.match(page.url(), /#\/namespaces\/team-a\/jobs\/side$/);
  assert.match(await page.getByRole("heading", { level: 1 }).innerText(), /^side namespace team-a v1/);

  await page.getByRole("link", { name: "Events", exact: true }).click();
  const feed = page.getByRole("list", { name: "Events, newest first" });
  await waitFor("the feed to show the drain", 15_000, async () => (/host \S+ draining/.test(await feed.innerText()) ? true : undefined));
  const text = await feed.innerText();
  assert.match(text, /hello v1 applied/);
  assert.match(text, /hello\/0 placed on dev-/);
  assert.match(text, new RegExp(`host ${victim.hostName} down \\(no heartbeat\\)`), "the killed agent's host went down");
  assert.match(text, new RegExp(`${victim.id} placed on dev-\\d \\(moved from ${victim.hostName}\\)`), "its task moved");
  await page.screenshot({ path: join(shots, "events.png"), fullPage: true });
  assert.deepEqual(await axeProblems(page), [], "events page");
  // Packages, as `tiffin pkg ls` shows them: one pushed and tagged from the CLI appears without a reload.
  await page.getByRole("link", { name: "Packages", exact: true }).click();
  await page.getByRole("heading", { name: "Packages", level: 1 }).waitFor();
  const site = join(home, "site");
  mkdirSync(site, { recursive: true });
  writeFileSync(join(site, "index.html"), "<h1>hello</h1>\n");
  cli("pkg", "push", site, "--name", "site", "--version", "1");
  cli("pkg", "tag", "site:live", "1");
  const pkgRow = page.getByRole("table", { name: "Packages" }).locator("tr[data-package='site@1']");
  await waitFor("site@1 tagged live on the packages page", 15_000, async () => ((await pkgRow.count()) > 0 && /live[\s\S]*\d+(\.\d)? (B|KiB)/.test(await pkgRow.innerText()) ? true : undefined));
  // A job pinning it: an agent fetches it through the swarm tracker, and the page shows the fetch
  // (a progress bar per host) as GET /v1/swarm/fetches and `tiffin swarm fetches` do.
  const webSpec = join(home, "web.json");
  writeFileSync(webSpec, JSON.stringify({ name: "web", command: ["sh", "-c", "exec sleep 600"], packages: ["site:live"], replicas: 1, resources: { cpu: 0.1, memory: "32Mi", disk: "32Mi" } }));
  const fetchStarted = Date.now();
  cli("apply", webSpec, "--detach");
  const bar = page.locator("[data-fetches='site@1']").getByRole("progressbar");
  await waitFor("site@1's fetch on the packages page", 20_000, async () => ((await bar.count()) > 0 && (await bar.first().getAttribute("aria-valuenow")) === "1" ? true : undefined));
  assert.equal(await bar.first().getAttribute("aria-valuemax"), "1");
  assert.match((await bar.first().getAttribute("aria-valuetext")) ?? "", /^1\/1 pieces \(100%\): 1 from the origin; done in \d+\.\d s$/);
  const fetched = await api<SwarmFetches>("/v1/swarm/fetches");
  assert.deepEqual(fetched.packages.map((p) => [p.name, p.version, p.fetchers.length]), [["site", "1", 1]]);
  t.diagnostic(`site@1's fetch shown ${Date.now() - fetchStarted} ms after the apply`);
  await page.screenshot({ path: join(shots, "packages.png"), fullPage: true });
  assert.deepEqual(await axeProblems(page), [], "packages page");
  assert.equal(await page.evaluate(() => (globalThis as unknown as { loaded?: number }).loaded), 1, "still no reload");

  // A token the server stops accepting (or a wrong one kept in the tab): the login page, not data.
  await page.evaluate(() => sessionStorage.setItem("tiffin.token", "wrong"));
  await page.reload();
  await page.getByLabel("Admin token").waitFor();
  assert.doesNotMatch(await page.content(), /dev-1|dev-2|dev-3|hello/, "no data shown with a wrong token");

  assert.deepEqual(pageErrors, [], "no uncaught errors in the page");
  assert.deepEqual(served.filter((u) => !u.startsWith(base)), [], "nothing fetched from another origin");
  assert.ok(!served.some((u) => u.includes(token)), "the token is never in a requested URL");
  assert.doesNotMatch(readFileSync(join(data, "server.log"), "utf8"), new RegExp(token), "the token never reaches the server's log");
});

/** The pid of `tiffin agent --name NAME` (tiffin dev's child). */
function agentPidOf(name: string): number {
  for (const pid of processesMentioning(`--name\0${name}\0`)) {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (args.includes("agent")) return pid;
  }
  throw new Error(`no agent process named ${name}`);
}
