// Real sandboxes: real helper processes running tasks through the host's OCI runtime (crun or runc),
// probing from inside what the task can and cannot reach.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { readLogs } from "./logs.ts";
import type { RuntimeInfo, SandboxConfig } from "./protocol.ts";
import { containerId, probeRuntime } from "./sandbox.ts";
import { cgroupMounts } from "./sandbox-cgroup.ts";
import { taskHostIds } from "./sandbox-config.ts";
import { alive, collect, HelperHarness, hogMemory, testRuntime, testSandbox, waitFor } from "./testkit.ts";

const h = new HelperHarness();
const outside = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-outside-"));
let runtime: RuntimeInfo;
before(async () => {
  runtime = await testRuntime();
});
after(async () => {
  await h.cleanup();
  fs.rmSync(outside, { recursive: true, force: true });
});

/** Runs `script` (sh) sandboxed to the end; resolves with its stdout and the final status. */
async function runScript(script: string, over: Partial<SandboxConfig> | null = {}, env: Record<string, string> = {}) {
  const dir = h.attempt({
    command: ["sh", "-c", script],
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", ...env },
    sandbox: over === null ? null : testSandbox(runtime, over),
  });
  h.start(dir);
  const agent = await h.agent(dir);
  agent.startPinging(200);
  const final = await agent.waitStatus("final", (s) => s.state === "exited" || s.state === "failed", 20_000);
  agent.send({ type: "ack" });
  return { dir, final, out: await collect(readLogs(dir, "stdout")), err: await collect(readLogs(dir, "stderr")) };
}

/** `yes NAME` / `no NAME` for each probe, as a map. */
function probes(out: string): Map<string, boolean> {
  return new Map(out.split("\n").flatMap((l) => (/^(yes|no) (\S+)$/.exec(l) ? [[l.split(" ")[1]!, l.startsWith("yes")] as const] : [])));
}

/** Probes that only read: run outside a sandbox too, to prove they see what they look for. */
const readProbes = [
  "p see-attempt-files 'test -e $(dirname $PWD)/attempt.json'",
  "p read-token 'cat $TOKEN'",
  "p see-helper 'cat /proc/[0-9]*/cmdline | tr \"\\0\" \" \" | grep -q \"helper/mai[n].ts\"'",
  "p few-procs 'test $(ls /proc | grep -c \"^[0-9]\") -le 6'",
  // The host's own secrets (issue 20: the sandbox binds the host's /etc; /root is simply not there).
  "p read-shadow 'head -c 1 /etc/shadow | grep -q .'",
  "p read-gshadow 'head -c 1 /etc/gshadow | grep -q .'",
  "p list-etc-ssh 'ls -A /etc/ssh | grep -q .'",
  "p list-root-home 'ls -A /root | grep -q .'",
];

/** Probes of privilege: each says "yes" for a root process on the host (checked below). */
const privilegeProbes = [
  "p uid-0 'test $(id -u) = 0'",
  `p any-capability '! grep -Eq "^CapEff:[[:space:]]*0+$" /proc/self/status'`,
  `p new-privileges '! grep -Eq "^NoNewPrivs:[[:space:]]*1$" /proc/self/status'`,
  // seccomp: the default profile refuses unshare (and mount, ptrace, bpf...); a user namespace alone would allow it.
  "p unshare 'unshare -U true'",
];

/** Probes that write where a task must not: $R is empty in the sandbox and a scratch tree outside, so the
 * same commands are shown to work (a probe with a typo would "pass" by failing everywhere). */
const writeProbes = ["p write-usr 'echo x > $R/usr/pwned'", "p write-etc 'echo x > $R/etc/pwned'", "p write-root 'echo x > $R/pwned'"];

const probe = `p() { if eval "$2" >/dev/null 2>&1; then echo "yes $1"; else echo "no $1"; fi; }`;

void describe("sandboxed tasks", { concurrency: true }, () => {
  void test("cannot write outside the work dir and /tmp, see host processes or secrets, or read files not mounted", async () => {
    const secretDir = path.join(outside, "server");
    fs.mkdirSync(secretDir);
    fs.writeFileSync(path.join(secretDir, "admin.token"), "s3cret\n");
    const { dir, final, out } = await runScript(
      [
        probe,
        ...writeProbes,
        ...readProbes,
        "p list-agent-dir 'ls $AGENT_DIR | grep -qv \"^$(basename $(dirname $PWD))$\"'",
        // /tmp is private: these land in the sandbox's tmpfs, if anywhere (checked on the host below).
        "echo x > $AGENT_DIR/pwned; echo x > $(dirname $PWD)/pwned",
        "p write-work 'echo x > ./mine && test -s ./mine'",
        "p write-tmp 'echo x > /tmp/mine && test -s /tmp/mine'",
        "p private-net 'test \"$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d \" \")\" = lo'",
      ].join("\n"),
      {},
      { AGENT_DIR: h.root, TOKEN: path.join(secretDir, "admin.token"), R: "" },
    );
    assert.equal(final.state, "exited", JSON.stringify(final));
    const p = probes(out);
    assert.equal(p.size, 15, out);
    const denied = ["write-usr", "write-etc", "write-root", "see-attempt-files", "read-token", "list-agent-dir", "see-helper"];
    for (const name of [...denied, "read-shadow", "read-gshadow", "list-etc-ssh", "list-root-home"]) {
      assert.equal(p.get(name), false, `${name} should fail inside the sandbox`);
    }
    for (const name of ["write-work", "write-tmp", "few-procs"]) assert.equal(p.get(name), true, `${name} should work`);
    assert.equal(p.get("private-net"), false, "network host: the host's interfaces are there");
    assert.equal(fs.readFileSync(path.join(dir, "work", "mine"), "utf8"), "x\n", "the work dir is the host's");
    assert.equal(fs.existsSync(path.join(h.root, "pwned")), false);
    assert.equal(fs.existsSync(path.join(dir, "pwned")), false);
    assert.equal(fs.existsSync("/usr/pwned"), false);
    // The same probes without a sandbox (the helper runs as root) find what they look for: they are not blind.
    const scratch = path.join(outside, "scratch-root");
    for (const d of ["usr", "etc"]) fs.mkdirSync(path.join(scratch, d), { recursive: true });
    const plain = probes((await runScript([probe, ...writeProbes, ...readProbes].join("\n"), null, { TOKEN: path.join(secretDir, "admin.token"), R: scratch })).out);
    assert.deepEqual([...plain], [
      ["write-usr", true], ["write-etc", true], ["write-root", true],
      ["see-attempt-files", true], ["read-token", true], ["see-helper", true], ["few-procs", false],
      ["read-shadow", true], ["read-gshadow", true], ["list-etc-ssh", true], ["list-root-home", true],
    ]);
    for (const f of ["usr/pwned", "etc/pwned", "pwned"]) assert.equal(fs.readFileSync(path.join(scratch, f), "utf8"), "x\n", f);
  });

  void test("runs as an unprivileged user: not root, no capabilities, no_new_privs, seccomp", async () => {
    const script = [probe, ...privilegeProbes, "echo uid=$(id -u)"].join("\n");
    const { final, out } = await runScript(script);
    assert.equal(final.state, "exited", JSON.stringify(final));
    assert.deepEqual([...probes(out)], [["uid-0", false], ["any-capability", false], ["new-privileges", false], ["unshare", false]], out);
    // The probes are not blind: a plain task of the (root) helper passes each of them.
    const plain = await runScript(script, null);
    assert.deepEqual([...probes(plain.out)], [["uid-0", true], ["any-capability", true], ["new-privileges", true], ["unshare", true]], plain.out);
  });

  void test("without a user namespace (the agent's fallback): the configured uid on the host, still confined", async () => {
    const user = { uid: 65534, gid: 65534, userns: null };
    assert.equal(await probeRuntime(runtime, outside, { user }), null, "the agent's fallback probe starts a container");
    const { final, out } = await runScript([probe, ...privilegeProbes, "p read-shadow 'head -c 1 /etc/shadow | grep -q .'", "p host-uid 'grep -Eq \"^Uid:[[:space:]]+65534[[:space:]]\" /proc/self/status'"].join("\n"), { user });
    assert.equal(final.state, "exited", JSON.stringify(final));
    assert.deepEqual([...probes(out)], [["uid-0", false], ["any-capability", false], ["new-privileges", false], ["unshare", false], ["read-shadow", false], ["host-uid", true]], out);
  });

  void test("a capability the sandbox grants is there, and only it", async () => {
    const { out } = await runScript(`grep ^CapEff: /proc/self/status`, { capabilities: ["CAP_NET_BIND_SERVICE"] });
    // CAP_NET_BIND_SERVICE is bit 10.
    assert.match(out, /^CapEff:\s*0+400$/m);
  });

  void test("/dev/stdout and /dev/stderr can be opened by path (pipes, not sockets), sandboxed and plain", async () => {
    const script = "echo to-stdout > /dev/stdout && echo to-stderr > /dev/stderr && echo done";
    for (const over of [{}, null]) {
      const { final, out, err } = await runScript(script, over);
      assert.equal(final.exitCode, 0, `${over === null ? "plain" : "sandboxed"}: ${err}`);
      assert.equal(out, "to-stdout\ndone\n");
      assert.match(err, /^to-stderr$/m);
    }
  });

  void test("/var, /run and /home are private and writable, with the host's /var layout (no files)", async () => {
    const { final, out, err } = await runScript(
      [probe, "p write-var-lib 'mkdir -p /var/lib/nginx/body && echo x > /var/lib/redis/dump'", "p write-run 'echo 1 > /run/x.pid'", "p write-home 'echo x > /home/f'",
        "p host-var-files 'ls -A /var/lib/dpkg | grep -q .'", "p home-env 'test \"$HOME\" = /home'"].join("\n"),
    );
    assert.equal(final.state, "exited", err);
    assert.deepEqual([...probes(out)], [["write-var-lib", true], ["write-run", true], ["write-home", true], ["host-var-files", false], ["home-env", true]], out + err);
    assert.equal(fs.existsSync("/run/x.pid"), false);
  });

  void test("with a state dir (spec persist), /var and /home outlive the attempt; /run does not", async () => {
    const stateDir = path.join(outside, "state", "web", "0");
    const first = await runScript("mkdir -p /var/lib/app && echo kept > /var/lib/app/data && echo mine > /home/h && echo 1 > /run/app.pid", { stateDir });
    assert.equal(first.final.exitCode, 0, first.err);
    const second = await runScript("cat /var/lib/app/data /home/h; test -e /run/app.pid && echo run-kept || echo run-fresh", { stateDir });
    assert.equal(second.out, "kept\nmine\nrun-fresh\n", second.err);
    assert.equal(fs.readFileSync(path.join(stateDir, "var", "lib", "app", "data"), "utf8"), "kept\n");
  });

  void test("a command health check runs inside the sandbox, as the task's user (not as root on the host)", async () => {
    // Healthy only where the task is: its user (nobody), its pid namespace (pid 1 runs `sleep`), its
    // private /run (the marker the task wrote). On the host, as the helper's root, every test fails.
    const check = "test $(id -u) = 65534 && grep -q sleep /proc/1/cmdline && test -e /run/marker";
    const dir = h.attempt({
      command: ["sh", "-c", "touch /run/marker; exec sleep 30"],
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" },
      sandbox: testSandbox(runtime),
      health: { kind: "command", run: ["sh", "-c", check], intervalMs: 200, timeoutMs: 5000, failures: 3, graceMs: 100, action: "restart" },
    });
    h.start(dir);
    const agent = await h.agent(dir);
    agent.startPinging(200);
    const st = await agent.waitStatus("healthy or unhealthy", (x) => x.state === "healthy" || x.state === "unhealthy" || x.state === "failed", 20_000);
    assert.equal(st.state, "healthy", JSON.stringify(st));
    agent.send({ type: "stop", reason: "done" });
    await agent.waitStatus("final", (x) => x.state === "failed" || x.state === "exited");
    agent.send({ type: "ack" });
  });

  void test("network private: only loopback, which works", async () => {
    const { out } = await runScript(
      [probe, "p private-net 'test \"$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d \" \")\" = lo'",
        `p loopback 'node -e "const s=require(\\"net\\").createServer().listen(0,\\"127.0.0.1\\",()=>require(\\"net\\").connect(s.address().port,\\"127.0.0.1\\",()=>process.exit(0)))"'`].join("\n"),
      { network: "private" },
    );
    assert.deepEqual([...probes(out)], [["private-net", true], ["loopback", true]]);
  });

  void test("a declared read-only mount is readable and not writable; a writable one is writable", async () => {
    const ro = path.join(outside, "ro");
    const rw = path.join(outside, "rw");
    fs.mkdirSync(ro);
    fs.mkdirSync(rw);
    fs.writeFileSync(path.join(ro, "file"), "hello\n");
    // The task is not root (nor the host's root): a writable host directory must be its user's, as
    // with Docker's userns-remap; taskHostIds says which uid that is.
    const owner = taskHostIds(testSandbox(runtime), { uid: 0, gid: 0 });
    fs.chownSync(rw, owner.uid, owner.gid);
    const { out } = await runScript(
      [probe, "p read-ro 'grep -q hello /data/file'", "p write-ro 'echo x > /data/new'", "p write-rw 'echo y > /rw/new'"].join("\n"),
      { mounts: [{ host: ro, task: "/data", writable: false }, { host: rw, task: "/rw", writable: true }] },
    );
    assert.deepEqual([...probes(out)], [["read-ro", true], ["write-ro", false], ["write-rw", true]]);
    assert.equal(fs.existsSync(path.join(ro, "new")), false);
    assert.equal(fs.readFileSync(path.join(rw, "new"), "utf8"), "y\n");
  });

  void test("a task over its memory limit is killed and the attempt ends out of memory", async () => {
    // The hog grows a string by doubling (awk): its memory is first touched by its own copies, in user
    // mode, where cgroup v1 without the OOM killer parks it for the helper's watch (hogMemory in testkit.ts).
    const { final, err } = await runScript(hogMemory, { limits: { cpu: 1, memoryMiB: 32, pids: 64 } });
    assert.equal(final.state, "failed", `${JSON.stringify(final)}\n${err}`);
    assert.equal(final.signal, "SIGKILL");
    // cgroup v1: the helper's OOM watch ends it (sandbox-oom.ts); v2: the kernel's OOM killer did.
    const how = cgroupMounts().some((m) => m.version === 1 && m.controllers.includes("memory")) ? "stopped" : "killed";
    assert.match(final.reason ?? "", new RegExp(`^out of memory: ${how} at its memory limit of 32 MiB \\(peak 3\\d\\.\\d MiB\\)$`));
  });

  void test("limits are in the container's cgroup; stop reaches a task that is pid 2 with no handler", async () => {
    const dir = h.attempt({ command: ["sleep", "30"], sandbox: testSandbox(runtime, { limits: { cpu: 0.5, memoryMiB: 48, pids: 100 } }), stop: { signal: "SIGTERM", graceMs: 10_000 } });
    h.start(dir);
    const agent = await h.agent(dir);
    agent.startPinging(200);
    const running = await agent.waitStatus("running", (s) => s.state === "running");
    const cg = `/tiffin/${containerId(path.basename(dir), dir)}/task`;
    const mounts = cgroupMounts();
    const v1 = (ctrl: string) => mounts.find((m) => m.version === 1 && m.controllers.includes(ctrl));
    const read = (f: string) => fs.readFileSync(f, "utf8").trim();
    if (v1("memory")) {
      assert.equal(read(path.join(v1("memory")!.dir, cg, "memory.limit_in_bytes")), String(48 * 1024 * 1024));
      assert.equal(read(path.join(v1("cpu")!.dir, cg, "cpu.cfs_quota_us")), "50000");
      assert.equal(read(path.join(v1("pids")!.dir, cg, "pids.max")), "100");
    } else {
      const v2 = mounts.find((m) => m.version === 2)!;
      assert.equal(read(path.join(v2.dir, cg, "memory.max")), String(48 * 1024 * 1024));
      assert.equal(read(path.join(v2.dir, cg, "cpu.max")), "50000 100000");
      assert.equal(read(path.join(v2.dir, cg, "pids.max")), "100");
    }
    const t0 = Date.now();
    agent.send({ type: "stop", reason: "rollout", deliberate: true });
    const final = await agent.waitStatus("stopped", (s) => s.state === "stopped" || s.state === "failed");
    assert.equal(final.state, "stopped");
    assert.ok(Date.now() - t0 < 5000, `stopped after ${Date.now() - t0} ms, not after the 10 s grace`);
    assert.deepEqual([final.reason, final.signal, final.exitCode], ["stopped: rollout", "SIGTERM", null]);
    assert.equal(alive(running.pid ?? 0), false);
    agent.send({ type: "ack" });
    const top = v1("memory")?.dir ?? mounts.find((m) => m.version === 2)!.dir;
    await waitFor("cgroup removed", () => !fs.existsSync(path.join(top, path.dirname(cg))) || null);
  });

  void test("kill -9 of the task's pid from the host: exited with signal SIGKILL", async () => {
    const dir = h.attempt({ command: ["sleep", "30"], sandbox: testSandbox(runtime) });
    h.start(dir);
    const agent = await h.agent(dir);
    agent.startPinging(200);
    const running = await agent.waitStatus("running", (s) => s.state === "running");
    process.kill(running.pid ?? 0, "SIGKILL");
    const final = await agent.waitStatus("exited", (s) => s.state === "exited");
    assert.deepEqual([final.signal, final.exitCode, final.reason], ["SIGKILL", null, null]);
    agent.send({ type: "ack" });
  });

  void test("a program that does not exist fails to start with the reason", async () => {
    const dir = h.attempt({ command: ["/no/such/program"], sandbox: testSandbox(runtime) });
    h.start(dir);
    const agent = await h.agent(dir);
    const final = await agent.waitStatus("failed", (s) => s.state === "failed");
    assert.match(final.reason ?? "", /^start failed: ENOENT program "\/no\/such\/program" not found/);
    agent.send({ type: "ack" });
  });
});
