// `tiffin exec` wiring: argv parsing (with and without `--`), the request sent, frames to our
// stdout/stderr, and the remote exit code as ours. The server is a small node:http stand-in here;
// src/agent/exec.test.ts runs the real server, agent and sandbox.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import type { ExecFrame } from "../../api/types.ts";
import { memoryIo } from "../io.ts";
import { main } from "../main.ts";
import { parseExecArgs } from "./exec.ts";

void test("parseExecArgs", () => {
  assert.deepEqual(parseExecArgs("web/2", ["--", "ls", "-l"]), { job: "web", index: 2, command: ["ls", "-l"] });
  assert.deepEqual(parseExecArgs("a/b/0", ["id"]), { job: "a/b", index: 0, command: ["id"] });
  assert.throws(() => parseExecArgs("web", ["id"]), { code: "TIFFIN_USAGE" });
  assert.throws(() => parseExecArgs("web/0", ["--"]), { code: "TIFFIN_USAGE" });
});

void test("tiffin exec streams the frames and exits with the command's code", async (t) => {
  const seen: { url: string; body: unknown; auth: string | undefined }[] = [];
  const frames = (code: number | null, signal: string | null): ExecFrame[] => [
    { type: "stdout", data: Buffer.from("héllo ").toString("base64") },
    { type: "stderr", data: Buffer.from("warn\n").toString("base64") },
    { type: "stdout", data: Buffer.from("world\n").toString("base64") },
    { type: "exit", code, signal },
  ];
  let next: ExecFrame[] = frames(4, null);
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (b: Buffer) => (body += b.toString()));
    req.on("end", () => {
      seen.push({ url: req.url ?? "", body: JSON.parse(body) as unknown, auth: req.headers.authorization });
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      for (const f of next) res.write(JSON.stringify(f) + "\n");
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const addr = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const io = memoryIo({});
  assert.equal(await main(["--addr", addr, "--token", "tok", "exec", "web/1", "sh", "-c", "exit 4"], io), 4, io.stderr);
  assert.equal(io.stdout, "héllo world\n");
  assert.equal(io.stderr, "warn\n");
  assert.equal(seen[0]?.url, "/v1/tasks/web/1/exec");
  assert.equal(seen[0]?.auth, "Bearer tok");
  assert.deepEqual((seen[0]?.body as { command: string[] }).command, ["sh", "-c", "exit 4"]);
  assert.match((seen[0]?.body as { user: string }).user, /.@./);

  next = frames(null, "SIGKILL");
  const io2 = memoryIo({});
  assert.equal(await main(["--addr", addr, "--token", "tok", "exec", "web/1", "--", "ls", "-l"], io2), 137);
  assert.deepEqual((seen[1]?.body as { command: string[] }).command, ["ls", "-l"]);

  next = [{ type: "error", message: "cannot run \"nope\": ENOENT" }];
  const io3 = memoryIo({});
  assert.equal(await main(["--addr", addr, "--token", "tok", "exec", "web/1", "nope"], io3), 126);
  assert.match(io3.stderr, /cannot run "nope"/);
});
