import { test } from "node:test";
import assert from "node:assert/strict";
import { compileJobs, validateJobSpec } from "./validate.ts";

const base = { name: "web", command: ["./web"] };

// Each case: fields laid over a valid job, the one field path that must be reported, and text the
// reported value must contain (null: the field is missing, so no value).
const bad: { name: string; job: Record<string, unknown>; path: string; value: string | null }[] = [
  { name: "missing name", job: { name: undefined }, path: "name", value: null },
  { name: "upper-case name", job: { name: "Web" }, path: "name", value: '"Web"' },
  { name: "name with underscore", job: { name: "my_job" }, path: "name", value: '"my_job"' },
  { name: "name too long", job: { name: "a".repeat(64) }, path: "name", value: "aaaa" },
  { name: "missing command", job: { command: undefined }, path: "command", value: null },
  { name: "empty command", job: { command: [] }, path: "command", value: "[]" },
  { name: "empty program name", job: { command: ["", "x"] }, path: "command[0]", value: '""' },
  { name: "command as number", job: { command: 42 }, path: "command", value: "42" },
  { name: "undeclared port in command", job: { command: ["./web", "--port=${PORT_ADMIN}"] }, path: "command[1]", value: "${PORT_ADMIN}" },
  { name: "negative replicas", job: { replicas: -1 }, path: "replicas", value: "-1" },
  { name: "fractional replicas", job: { replicas: 1.5 }, path: "replicas", value: "1.5" },
  { name: "replicas as string", job: { replicas: "3" }, path: "replicas", value: '"3"' },
  { name: "memory in MB", job: { resources: { memory: "512MB" } }, path: "resources.memory", value: '"512MB"' },
  { name: "zero memory", job: { resources: { memory: 0 } }, path: "resources.memory", value: "0" },
  { name: "fractional MiB", job: { resources: { memory: 1.5 } }, path: "resources.memory", value: "1.5" },
  { name: "disk in G", job: { resources: { disk: "1G" } }, path: "resources.disk", value: '"1G"' },
  { name: "zero cpu", job: { resources: { cpu: 0 } }, path: "resources.cpu", value: "0" },
  { name: "cpu as string", job: { resources: { cpu: "2" } }, path: "resources.cpu", value: '"2"' },
  { name: "unknown resource", job: { resources: { gpu: 1 } }, path: "resources.gpu", value: "1" },
  { name: "misspelled field", job: { replica: 3 }, path: "replica", value: "3" },
  { name: "env name starting with a digit", job: { env: { "1X": "a" } }, path: 'env["1X"]', value: '"1X"' },
  { name: "env value as object", job: { env: { A: { b: 1 } } }, path: "env.A", value: '{"b":1}' },
  { name: "env sets TASK_INDEX", job: { env: { TASK_INDEX: "3" } }, path: "env.TASK_INDEX", value: '"3"' },
  { name: "env sets an allocated port", job: { ports: { http: {} }, env: { PORT_HTTP: "80" } }, path: "env.PORT_HTTP", value: '"80"' },
  { name: "absolute file path", job: { files: { "/etc/x": "a" } }, path: 'files["/etc/x"]', value: '"/etc/x"' },
  { name: "file path with ..", job: { files: { "../x": "a" } }, path: 'files["../x"]', value: '"../x"' },
  { name: "file mode not octal", job: { files: { "a.txt": { content: "", mode: "999" } } }, path: 'files["a.txt"].mode', value: '"999"' },
  { name: "upper-case port name", job: { ports: { HTTP: {} } }, path: "ports.HTTP", value: '"HTTP"' },
  { name: "port listed twice", job: { ports: ["http", "http"] }, path: "ports[1]", value: '"http"' },
  { name: "unknown port option", job: { ports: { http: { port: 80 } } }, path: "ports.http.port", value: "80" },
  { name: "health on undeclared port", job: { ports: ["http"], health: { kind: "http", port: "admin" } }, path: "health.port", value: '"admin"' },
  { name: "health with no ports", job: { health: { kind: "tcp", port: "db" } }, path: "health.port", value: '"db"' },
  { name: "unknown health kind", job: { health: { kind: "udp", port: "x" } }, path: "health.kind", value: '"udp"' },
  { name: "health interval not a duration", job: { health: { kind: "command", run: ["true"], every: "2x" } }, path: "health.every", value: '"2x"' },
  { name: "health interval too short", job: { health: { kind: "command", run: ["true"], every: "10ms" } }, path: "health.every", value: '"10ms"' },
  { name: "health timeout above interval", job: { health: { kind: "command", run: ["true"], every: "1s", timeout: "5s" } }, path: "health.timeout", value: '"5s"' },
  { name: "unknown health action", job: { health: { kind: "command", run: ["true"], then: "explode" } }, path: "health.then", value: '"explode"' },
  { name: "zero health failures", job: { health: { kind: "command", run: ["true"], failures: 0 } }, path: "health.failures", value: "0" },
  { name: "http path without slash", job: { ports: ["http"], health: { kind: "http", port: "http", path: "healthz" } }, path: "health.path", value: '"healthz"' },
  { name: "tcp health port as number", job: { health: { kind: "tcp", port: 8080 } }, path: "health.port", value: "8080" },
  { name: "metrics on undeclared port", job: { ports: ["http"], metrics: { port: "admin" } }, path: "metrics.port", value: '"admin"' },
  { name: "metrics path without slash", job: { ports: ["http"], metrics: { port: "http", path: "metrics" } }, path: "metrics.path", value: '"metrics"' },
  { name: "metrics interval too short", job: { ports: ["http"], metrics: { port: "http", interval: "100ms" } }, path: "metrics.interval", value: '"100ms"' },
  { name: "metrics timeout above interval", job: { ports: ["http"], metrics: { port: "http", interval: "2s", timeout: "3s" } }, path: "metrics.timeout", value: '"3s"' },
  { name: "metrics signal not a metric name", job: { ports: ["http"], metrics: { port: "http", signals: { errors: "http-errors" } } }, path: "metrics.signals.errors", value: '"http-errors"' },
  { name: "metrics quantile of 1", job: { ports: ["http"], metrics: { port: "http", quantile: 1 } }, path: "metrics.quantile", value: "1" },
  { name: "unknown metrics signal", job: { ports: ["http"], metrics: { port: "http", signals: { cpu: "x" } } }, path: "metrics.signals.cpu", value: '"x"' },
  { name: "adapt: min memory above max", job: { resources: { adapt: { min: { memory: "1Gi" }, max: { memory: "512Mi" } } } }, path: "resources.adapt.min.memory", value: '"1Gi"' },
  { name: "adapt: min cpu above max", job: { resources: { adapt: { min: { cpu: 2 }, max: { cpu: 1 } } } }, path: "resources.adapt.min.cpu", value: "2" },
  { name: "adapt: unknown field", job: { resources: { adapt: { maximum: { memory: "1Gi" } } } }, path: "resources.adapt.maximum", value: '{"memory":"1Gi"}' },
  { name: "adapt: unknown bound", job: { resources: { adapt: { max: { disk: "1Gi" } } } }, path: "resources.adapt.max.disk", value: '"1Gi"' },
  { name: "adapt: memory bound in MB", job: { resources: { adapt: { max: { memory: "512MB" } } } }, path: "resources.adapt.max.memory", value: '"512MB"' },
  { name: "adapt: every too short", job: { resources: { adapt: { every: "10ms" } } }, path: "resources.adapt.every", value: '"10ms"' },
  { name: "back-off initial above max", job: { restart: { backoff: { initial: "1m", max: "10s" } } }, path: "restart.backoff.initial", value: '"1m"' },
  { name: "zero moves", job: { restart: { moveAfterFailures: 0 } }, path: "restart.moveAfterFailures", value: "0" },
  { name: "unknown signal", job: { stop: { signal: "SIGFOO" } }, path: "stop.signal", value: '"SIGFOO"' },
  { name: "grace not a duration", job: { stop: { grace: "forever" } }, path: "stop.grace", value: '"forever"' },
  { name: "grace as bare number", job: { stop: { grace: 10 } }, path: "stop.grace", value: "10" },
  { name: "kernel range syntax", job: { constraints: { kernel: "6.1+" } }, path: "constraints.kernel", value: '"6.1+"' },
  { name: "kernel range unsatisfiable", job: { constraints: { kernel: ">=7 <6" } }, path: "constraints.kernel", value: '">=7 <6"' },
  { name: "bad os id", job: { constraints: { os: "Debian!" } }, path: "constraints.os", value: '"Debian!"' },
  { name: "label value as object", job: { constraints: { labels: { ssd: {} } } }, path: "constraints.labels.ssd", value: "{}" },
  { name: "unknown spread", job: { spread: "planet" }, path: "spread", value: '"planet"' },
  { name: "unknown maintenance", job: { maintenance: "ignore" }, path: "maintenance", value: '"ignore"' },
  { name: "disconnect stop too soon", job: { disconnect: { stopAfter: "500ms" } }, path: "disconnect.stopAfter", value: '"500ms"' },
  { name: "disconnect stop of zero", job: { disconnect: { stopAfter: "0s" } }, path: "disconnect.stopAfter", value: '"0s"' },
  { name: "package without version", job: { packages: ["frontend"] }, path: "packages[0]", value: '"frontend"' },
  { name: "unknown isolation", job: { isolation: "vm" }, path: "isolation", value: '"vm"' },
  { name: "unknown network", job: { network: "bridge" }, path: "network", value: '"bridge"' },
  { name: "private network without a sandbox", job: { isolation: "none", network: "private" }, path: "network", value: '"private"' },
  { name: "mounts without a sandbox", job: { isolation: "none", mounts: [{ host: "/a", task: "/a" }] }, path: "mounts", value: "/a" },
  { name: "unknown capability", job: { capabilities: ["NET_BIND"] }, path: "capabilities[0]", value: '"NET_BIND"' },
  { name: "capabilities without a sandbox", job: { isolation: "none", capabilities: ["NET_BIND_SERVICE"] }, path: "capabilities", value: "NET_BIND_SERVICE" },
  { name: "persist without a sandbox", job: { isolation: "none", persist: true }, path: "persist", value: "true" },
  { name: "relative mount host path", job: { mounts: [{ host: "data", task: "/data" }] }, path: "mounts[0].host", value: '"data"' },
  { name: "mount host path with ..", job: { mounts: [{ host: "/srv/../etc", task: "/data" }] }, path: "mounts[0].host", value: '"/srv/../etc"' },
  { name: "mount over /proc", job: { mounts: [{ host: "/srv", task: "/proc/x" }] }, path: "mounts[0].task", value: '"/proc/x"' },
  { name: "mount over the root", job: { mounts: [{ host: "/srv", task: "/" }] }, path: "mounts[0].task", value: '"/"' },
  { name: "mount target with trailing slash", job: { mounts: [{ host: "/srv", task: "/data/" }] }, path: "mounts[0].task", value: '"/data/"' },
  { name: "mount writable as string", job: { mounts: [{ host: "/srv", task: "/data", writable: "yes" }] }, path: "mounts[0].writable", value: '"yes"' },
  { name: "unknown mount option", job: { mounts: [{ host: "/srv", task: "/data", mode: "rw" }] }, path: "mounts[0].mode", value: '"rw"' },
  { name: "two mounts at one task path", job: { mounts: [{ host: "/a", task: "/data" }, { host: "/b", task: "/data" }] }, path: "mounts[1].task", value: '"/data"' },
  // Rollout policies (issue 14): refused at plan/apply with the field path.
  { name: "rollout phase of an unknown domain", job: { rollout: { phases: [1, "rak", "all"] } }, path: "rollout.phases[1]", value: '"rak"' },
  { name: "rollout phase of 0%", job: { rollout: { phases: ["0%", "all"] } }, path: "rollout.phases[0]", value: '"0%"' },
  { name: "rollout phase of 0 tasks", job: { rollout: { phases: [0, "all"] } }, path: "rollout.phases[0]", value: "0" },
  { name: "rollout phase over 100%", job: { rollout: { phases: ["150%"] } }, path: "rollout.phases[0]", value: '"150%"' },
  { name: "rollout phases that shrink", job: { rollout: { phases: [5, 2, "all"] } }, path: "rollout.phases[1]", value: "2" },
  { name: "rollout phase after all", job: { rollout: { phases: ["all", "rack"] } }, path: "rollout.phases[1]", value: '"rack"' },
  { name: "rollout with no phases", job: { rollout: { phases: [] } }, path: "rollout.phases", value: "[]" },
  { name: "rollout bake longer than its deadline", job: { rollout: { bake: "10m", deadline: "5m" } }, path: "rollout.bake", value: '"10m"' },
  { name: "rollout deadline under a second", job: { rollout: { deadline: "10ms" } }, path: "rollout.deadline", value: '"10ms"' },
  { name: "rollout maxUnavailable of 0 without a surge (no rollout could replace a task)", job: { rollout: { maxUnavailable: 0 } }, path: "rollout.maxUnavailable", value: "0" },
  { name: "rollout maxUnavailable as words", job: { rollout: { maxUnavailable: "some" } }, path: "rollout.maxUnavailable", value: '"some"' },
  { name: "rollout maxSurge negative", job: { rollout: { maxSurge: -1 } }, path: "rollout.maxSurge", value: "-1" },
  { name: "rollout onFailure unknown", job: { rollout: { onFailure: "retry" } }, path: "rollout.onFailure", value: '"retry"' },
  { name: "rollout unknown field", job: { rollout: { canary: 1 } }, path: "rollout.canary", value: "1" },
  { name: "anti-affinity with a space", job: { antiAffinity: "high bandwidth" }, path: "antiAffinity", value: '"high bandwidth"' },
  // Specs that validated but could never run on a host (issue 10 item 8).
  { name: "NUL in an argument", job: { command: ["./web", "a\0b"] }, path: "command[1]", value: "a\\u0000b" },
  { name: "NUL in the program", job: { command: ["./w\0eb"] }, path: "command[0]", value: "u0000" },
  { name: "NUL in a shell command", job: { command: "echo \0" }, path: "command", value: "u0000" },
  { name: "NUL in a health command", job: { health: { kind: "command", run: ["x\0"] } }, path: "health.run[0]", value: "u0000" },
  { name: "NUL in an env value", job: { env: { A: "x\0y" } }, path: "env.A", value: "u0000" },
  { name: "NUL in a file name", job: { files: { "a\0b": "x" } }, path: 'files["a\\u0000b"]', value: "u0000" },
  { name: "argument over the kernel's per-string limit", job: { command: ["./web", "x".repeat(2 ** 17)] }, path: "command[1]", value: "xxx" },
  { name: "argument over the limit in UTF-8 bytes", job: { command: ["./web", "é".repeat(2 ** 16)] }, path: "command[1]", value: "éé" },
  { name: "env entry over the kernel's per-string limit", job: { env: { A: "x".repeat(2 ** 17 - 2) } }, path: "env.A", value: "xxx" },
  { name: "file name part over 255 bytes", job: { files: { ["d/" + "n".repeat(300)]: "x" } }, path: 'files["d/' + "n".repeat(300) + '"]', value: "nnn" },
  { name: "a file that is also a folder", job: { files: { a: "x", "a/b": "y" } }, path: 'files["a/b"]', value: "a/b" },
  { name: "files over the request limit together", job: { files: { a: "x".repeat(700_000), b: "y".repeat(700_000) } }, path: "files", value: null },
];

for (const c of bad) {
  void test(`bad spec: ${c.name}`, () => {
    const input: Record<string, unknown> = { ...base, ...c.job };
    for (const [k, v] of Object.entries(input)) if (v === undefined) delete input[k];
    const { specs, problems } = compileJobs(input, "spec.ts");
    assert.deepEqual(specs, []);
    assert.equal(problems.length, 1, JSON.stringify(problems));
    const p = problems[0]!;
    assert.equal(p.path, c.path);
    assert.equal(p.file, "spec.ts");
    assert.ok(p.message.length > 0);
    if (c.value === null) assert.equal(p.value, null);
    else assert.ok(p.value?.includes(c.value), `value ${p.value} should contain ${c.value}`);
  });
}

void test("every problem in a file is reported at once, cross-field ones included", () => {
  const { specs, problems } = compileJobs(
    [
      {
        name: "web",
        command: ["./web"],
        resources: { memory: "512MB", cpu: -1 },
        ports: ["http"],
        health: { kind: "http", port: "admin" },
        spread: "planet",
      },
      { name: "web", command: [], restart: { backoff: { initial: "1m", max: "1s" } } },
      "not a job",
    ],
    "tiffin.ts",
  );
  assert.deepEqual(specs, []);
  assert.deepEqual(
    problems.map((p) => p.path).sort(),
    [
      "jobs[0].health.port",
      "jobs[0].resources.cpu",
      "jobs[0].resources.memory",
      "jobs[0].spread",
      "jobs[1].command",
      "jobs[1].name",
      "jobs[1].restart.backoff.initial",
      "jobs[2]",
    ].sort(),
  );
  assert.ok(problems.every((p) => p.file === "tiffin.ts"));
  assert.match(problems.find((p) => p.path === "jobs[1].name")!.message, /declared twice/);
});

void test("an empty export and a missing export are problems", () => {
  assert.equal(compileJobs([], "a.ts").problems.length, 1);
  assert.match(compileJobs(undefined, "a.ts").problems[0]!.message, /exports no job/);
});

void test("compiled specs pass the server's strict check", () => {
  const { specs, problems } = compileJobs(
    [
      { name: "a", command: "echo hi" },
      {
        name: "b",
        command: ["./b", "${PORT_HTTP}"],
        ports: { http: {}, metrics: {} },
        health: { kind: "http", port: "http", path: "/healthz" },
        env: { A: 1 },
        files: { "conf/b.json": { content: "{}", mode: "0600" } },
        constraints: { os: { id: "debian", version: "12" }, kernel: ">=5.10 <7", labels: { ssd: true } },
        disconnect: { stopAfter: "4s" },
        stop: { signal: "term", grace: "1m30s" },
        network: "private",
        mounts: [{ host: "/srv/b", task: "/data", writable: true }],
        resources: { cpu: 0.5, memory: "512Mi", adapt: { min: { memory: "64Mi" }, max: { cpu: 2, memory: "2Gi" }, every: "1h" } },
        rollout: { phases: [1, "10%", "cluster", "all"], bake: "30s", maxUnavailable: 2, onFailure: "pause" },
      },
    ],
    null,
  );
  assert.deepEqual(problems, []);
  for (const s of specs) assert.deepEqual(validateJobSpec(JSON.parse(JSON.stringify(s))), []);
});

void test("validateJobSpec rejects what a client could send wrongly", () => {
  const spec = compileJobs({ ...base, ports: ["http"] }, null).specs[0]!;
  const cases: [string, (s: Record<string, unknown>) => void, string][] = [
    ["missing field", (s) => delete s["restart"], "restart"],
    ["extra field", (s) => (s["replica"] = 2), "replica"],
    ["shorthand size", (s) => (s["resources"] = { cpu: 1, memoryMiB: "512Mi", diskMiB: 1 }), "resources.memoryMiB"],
    ["shorthand signal", (s) => (s["stop"] = { signal: "TERM", graceMs: 0 }), "stop.signal"],
    ["undeclared health port", (s) => (s["health"] = { kind: "tcp", port: "db", intervalMs: 1000, timeoutMs: 100, failures: 1, graceMs: 0, action: "move" }), "health.port"],
    ["undeclared metrics port", (s) => (s["metrics"] = { port: "db", path: "/metrics", intervalMs: 10_000, timeoutMs: 5000, signals: { clients: null, errors: null, latency: null }, quantile: 0.99 }), "metrics.port"],
    ["metrics timeout above interval", (s) => (s["metrics"] = { port: "http", path: "/metrics", intervalMs: 1000, timeoutMs: 5000, signals: { clients: null, errors: null, latency: null }, quantile: 0.99 }), "metrics.timeoutMs"],
    ["metrics signal not a name", (s) => (s["metrics"] = { port: "http", path: "/metrics", intervalMs: 1000, timeoutMs: 500, signals: { clients: "a b", errors: null, latency: null }, quantile: 0.99 }), "metrics.signals.clients"],
    ["back-off inverted", (s) => (s["restart"] = { backoffInitialMs: 5000, backoffMaxMs: 1, moveAfterFailures: 1 }), "restart.backoffInitialMs"],
    ["duplicate ports", (s) => (s["ports"] = ["http", "http"]), "ports"],
    ["adapt min above max", (s) => (s["adapt"] = { min: { cpu: null, memoryMiB: 1024 }, max: { cpu: null, memoryMiB: 512 }, everyMs: 60_000 }), "adapt.min.memoryMiB"],
    ["adapt shorthand bound", (s) => (s["adapt"] = { min: { cpu: null, memoryMiB: "1Gi" }, max: { cpu: null, memoryMiB: null }, everyMs: 60_000 }), "adapt.min.memoryMiB"],
    ["adapt unknown field", (s) => (s["adapt"] = { min: { cpu: null, memoryMiB: null }, max: { cpu: null, memoryMiB: null }, everyMs: 60_000, often: true }), "adapt.often"],
    ["unknown isolation", (s) => (s["isolation"] = "vm"), "isolation"],
    ["relative mount", (s) => (s["mounts"] = [{ host: "x", task: "/x", writable: false }]), "mounts[0].host"],
    ["private network unsandboxed", (s) => ((s["isolation"] = "none"), (s["network"] = "private")), "network"],
    ["rollout bake above deadline", (s) => (s["rollout"] = { phases: null, bakeMs: 600_000, deadlineMs: 60_000, maxUnavailable: 1, maxSurge: 0, onFailure: "rollback" }), "rollout.bakeMs"],
    ["rollout unknown domain", (s) => (s["rollout"] = { phases: ["zone"], bakeMs: 0, deadlineMs: 60_000, maxUnavailable: 1, maxSurge: 0, onFailure: "rollback" }), "rollout.phases[0]"],
    ["rollout 0% phase", (s) => (s["rollout"] = { phases: ["0%", "all"], bakeMs: 0, deadlineMs: 60_000, maxUnavailable: 1, maxSurge: 0, onFailure: "rollback" }), "rollout.phases[0]"],
    ["mount target twice", (s) => (s["mounts"] = [{ host: "/a", task: "/x", writable: false }, { host: "/b", task: "/x", writable: true }]), "mounts[1].task"],
  ];
  for (const [name, mutate, path] of cases) {
    const s = JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
    mutate(s);
    const problems = validateJobSpec(s);
    assert.deepEqual(problems.map((p) => p.path), [path], name);
  }
  assert.equal(validateJobSpec("nope").length, 1);
  // Specs stored before sandboxes existed have no isolation fields: still valid.
  const old = JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
  for (const k of ["isolation", "network", "mounts"]) delete old[k];
  assert.deepEqual(validateJobSpec(old), []);
});

void test("problem reports show NaN, Infinity and nested values as they are (issue 10 item 12)", () => {
  const c: Record<string, unknown> = { a: 1 };
  c["self"] = c;
  const { problems } = compileJobs(
    { ...base, replicas: Number.NaN, resources: { cpu: Infinity }, env: { A: { b: { c: 1n } }, B: c }, stop: { grace: [Number.NaN] } },
    "spec.ts",
  );
  const shown = Object.fromEntries(problems.map((p) => [p.path, `${p.message} (got ${p.value})`]));
  assert.match(shown["replicas"] ?? "", /^expected a (whole|finite) number, got NaN \(got NaN\)$/);
  assert.match(shown["resources.cpu"] ?? "", /^expected a finite number, got Infinity \(got Infinity\)$/);
  assert.match(shown["env.A"] ?? "", /\(got \{ b: \{ c: 1n \} \}\)$/);
  assert.match(shown["env.B"] ?? "", /\(got .*a: 1.*Circular/);
  assert.match(shown["stop.grace"] ?? "", /\(got \[ NaN \]\)$/);
  for (const p of problems) assert.doesNotMatch(`${p.message} ${p.value}`, /object Object|got number \(got null\)/);
});

void test("the kernel's limits are exact: one byte under passes, and the server's check agrees (issue 10 item 8)", () => {
  const fits = { ...base, command: ["./web", "x".repeat(2 ** 17 - 1)], env: { A: "x".repeat(2 ** 17 - 3) }, files: { ["n".repeat(255)]: "x", "d/a": "x", "d/b": "y" } };
  const { specs, problems } = compileJobs(fits, "spec.ts");
  assert.deepEqual(problems, []);
  assert.deepEqual(validateJobSpec(specs[0]), []);
  const spec = specs[0]!;
  const broken = { ...spec, command: ["./w\0eb"], env: { A: "x\0" }, files: { a: { content: "", mode: 0o644 }, "a/b": { content: "", mode: 0o644 }, ["n".repeat(256)]: { content: "", mode: 0o644 } } };
  assert.deepEqual(validateJobSpec(broken).map((p) => p.path), ["command[0]", "env.A", `files.${"n".repeat(256)}`, 'files["a/b"]']);
});

void test("rollout: written policies compile with their defaults and print back in the user's form (issue 14)", async () => {
  const { decompileJob } = await import("./decompile.ts");
  const { specs, problems } = compileJobs({ ...base, rollout: { phases: [1, "10%", "cluster", "datacenter", "all"], bake: "1m" } }, null);
  assert.deepEqual(problems, []);
  const spec = specs[0]!;
  assert.deepEqual(spec.rollout, { phases: [1, "10%", "cluster", "datacenter", "all"], bakeMs: 60_000, deadlineMs: 300_000, maxUnavailable: "10%", maxSurge: 0, onFailure: "rollback" });
  assert.deepEqual(decompileJob(spec)["rollout"], { phases: [1, "10%", "cluster", "datacenter", "all"], bake: "1m", deadline: "5m", maxUnavailable: "10%", maxSurge: 0, onFailure: "rollback" });
  assert.deepEqual(compileJobs(JSON.parse(JSON.stringify(decompileJob(spec))), null).specs[0], spec);
  // A job that writes none compiles as before (no field): DefaultRolloutPolicy applies, stored specs are unchanged.
  assert.equal("rollout" in compileJobs(base, null).specs[0]!, false);
});
