// `tiffin exec` wiring: argv parsing (flags before the task only), the upgrade request sent, stdin as
// frames, frames to our stdout/stderr, signals, and the remote exit code as ours. The server is a small
// node:http stand-in speaking the session protocol here; src/agent/exec-session.test.ts runs the real
// server, agent and sandbox.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import type { Duplex } from "node:stream";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { NodeApiClient as ApiClient } from "../../api/node-client.ts";
import type { ExecInput } from "../../api/exec-wire.ts";
import { LineSplitter, parseExecInput } from "../../api/exec-wire.ts";
import type { ExecFrame } from "../../api/types.ts";
import { memoryIo } from "../io.ts";
import { main } from "../main.ts";
import { parseExecArgs, runSession } from "./exec.ts";

void test("parseExecArgs: flags before the task, the command's own flags after it", () => {
  const cases: [string[], ReturnType<typeof parseExecArgs> | "usage"][] = [
    [["web/2", "--", "ls", "-l"], { job: "web", index: 2, command: ["ls", "-l"], tty: null, stdin: true }],
    [["a/b/0", "id"], { job: "a/b", index: 0, command: ["id"], tty: null, stdin: true }],
    [["web/0", "ls", "-t"], { job: "web", index: 0, command: ["ls", "-t"], tty: null, stdin: true }],
    [["-t", "web/0", "--", "tty"], { job: "web", index: 0, command: ["tty"], tty: true, stdin: true }],
    [["-T", "-n", "web/0", "cat"], { job: "web", index: 0, command: ["cat"], tty: false, stdin: false }],
    [["--tty", "--no-stdin", "web/3", "sh"], { job: "web", index: 3, command: ["sh"], tty: true, stdin: false }],
    [["web"], "usage"],
    [["web/0", "--"], "usage"],
    [["-x", "web/0", "id"], "usage"],
    [["-t"], "usage"],
  ];
  for (const [words, want] of cases) {
    if (want === "usage") assert.throws(() => parseExecArgs(words), { code: "TIFFIN_USAGE" }, words.join(" "));
    else assert.deepEqual(parseExecArgs(words), want, words.join(" "));
  }
});

/** A stand-in server: upgrades, echoes stdin back as stdout, answers `eof` with `onEof`'s frames. */
async function standIn(t: TestContext, onEof: () => ExecFrame[]) {
  const seen: { url: URL; auth: string | undefined; upgrade: string | undefined; inputs: ExecInput[] }[] = [];
  const server = http.createServer((_req, res) => {
    res.writeHead(400).end();
  });
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname.includes("nope")) {
      const body = JSON.stringify({ error: { code: "TIFFIN_NOT_FOUND", message: "task nope/0 not found", hint: "see `tiffin status`", problems: [] } });
      socket.end(`HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      return;
    }
    const s = { url, auth: req.headers.authorization, upgrade: req.headers.upgrade, inputs: [] as ExecInput[] };
    seen.push(s);
    socket.write("HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: tiffin-exec.v1\r\n\r\n");
    const lines = new LineSplitter();
    socket.on("data", (b: Buffer) => {
      for (const l of lines.push(b)) {
        const f = parseExecInput(l);
        if (!f) continue;
        s.inputs.push(f);
        if (f.type === "stdin") socket.write(JSON.stringify({ type: "stdout", data: f.data }) + "\n");
        if (f.type === "eof") socket.end(onEof().map((x) => JSON.stringify(x) + "\n").join(""));
        if (f.type === "signal") socket.end(JSON.stringify({ type: "exit", code: 130, signal: null }) + "\n");
      }
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => (server.closeAllConnections(), server.close()));
  return { seen, addr: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

void test("tiffin exec opens a session, streams the frames and exits with the command's code", async (t) => {
  let next: ExecFrame[] = [
    { type: "stdout", data: Buffer.from("héllo ").toString("base64") },
    { type: "stderr", data: Buffer.from("warn\n").toString("base64") },
    { type: "stdout", data: Buffer.from("world\n").toString("base64") },
    { type: "exit", code: 4, signal: null },
  ];
  const { seen, addr } = await standIn(t, () => next);

  const io = memoryIo({ TERM: "xterm-test" });
  assert.equal(await main(["--addr", addr, "--token", "tok", "exec", "-n", "web/1", "sh", "-c", "exit 4"], io), 4, io.stderr);
  assert.equal(io.stdout, "héllo world\n");
  assert.equal(io.stderr, "warn\n");
  const s0 = seen[0]!;
  assert.equal(s0.url.pathname, "/v1/tasks/web/1/exec");
  assert.equal(s0.auth, "Bearer tok");
  assert.equal(s0.upgrade, "tiffin-exec.v1");
  assert.deepEqual(s0.url.searchParams.getAll("command"), ["sh", "-c", "exit 4"]);
  assert.match(s0.url.searchParams.get("user") ?? "", /.@./);
  assert.equal(s0.url.searchParams.get("tty"), null, "no terminal: ours is not one");
  assert.deepEqual(s0.inputs, [{ type: "eof" }], "-n: no stdin, at once the end of it");

  next = [{ type: "exit", code: null, signal: "SIGKILL" }];
  const io2 = memoryIo({});
  assert.equal(await main(["--addr", addr, "--token", "tok", "exec", "-n", "-t", "web/1", "--", "ls", "-l"], io2), 137);
  assert.deepEqual(seen[1]?.url.searchParams.getAll("command"), ["ls", "-l"]);
  assert.equal(seen[1]?.url.searchParams.get("tty"), "1");

  next = [{ type: "error", message: 'cannot run "nope": ENOENT' }];
  const io3 = memoryIo({});
  assert.equal(await main(["--addr", addr, "--token", "tok", "exec", "-n", "web/1", "nope"], io3), 126);
  assert.match(io3.stderr, /cannot run "nope"/);

  const io4 = memoryIo({});
  assert.notEqual(await main(["--addr", addr, "--token", "tok", "exec", "-n", "nope/0", "id"], io4), 0);
  assert.match(io4.stderr, /task nope\/0 not found/);
});

void test("an exec session sends stdin as it comes, then eof; a signal without a terminal goes to the command", async (t) => {
  const { seen, addr } = await standIn(t, () => [{ type: "exit", code: 0, signal: null }]);
  const client = new ApiClient({ addr, token: "tok" });
  let out = "";
  const s = await client.execSession("web", 0, { command: ["cat"] });
  const code = await runSession(s, { input: Readable.from([Buffer.from("line one\n"), Buffer.from("line two\n")]), out: (b) => (out += b.toString()), err: () => undefined }, false);
  assert.equal(code, 0);
  assert.equal(out, "line one\nline two\n", "what we sent came back");
  assert.deepEqual(seen[0]?.inputs.map((f) => f.type), ["stdin", "stdin", "eof"]);

  let fire: ((sig: NodeJS.Signals) => void) | null = null;
  const s2 = await client.execSession("web", 0, { command: ["sleep", "100"] });
  const pending = runSession(s2, { input: new Readable({ read() {} }), out: () => undefined, err: () => undefined, onSignal: (fn) => ((fire = fn), () => undefined) }, false);
  await new Promise((r) => setTimeout(r, 50));
  fire!("SIGINT");
  assert.equal(await pending, 130);
  assert.deepEqual(seen[1]?.inputs, [{ type: "signal", signal: "SIGINT" }]);
});
