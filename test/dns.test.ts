// The server's DNS end to end (issue 15): a real `tiffin server --dns-listen` (through
// TIFFIN_DNS_LISTEN, which every flag reads), real agents and tasks, asked by Debian's `dig` and by
// Node's resolver (c-ares), not by the codec the server encodes with. Records follow a task's failure
// and its replacement within a second; unknown names are NXDOMAIN; thousands of malformed packets
// over UDP and TCP leave the server answering.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { Resolver } from "node:dns/promises";
import { connect } from "node:net";
import { promisify } from "node:util";
import dnsPacket from "dns-packet";
import { ApiClient } from "../src/api/client.ts";
import { freeUdpTcpPort } from "../src/cli/commands/dev.ts";
import { Cluster, waitFor, webJob } from "./harness.ts";

const run = promisify(execFile);

const web = (replicas: number) => webJob(replicas);

/** `dig` with +short-like parsing: the status and the answer lines. */
async function dig(port: number, name: string, type: string, tcp = false): Promise<{ status: string; answers: string[] }> {
  const { stdout } = await run("dig", ["@127.0.0.1", "-p", String(port), name, type, "+noall", "+comments", "+answer", "+tries=1", "+time=1", ...(tcp ? ["+tcp"] : [])]);
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? "?";
  const answers = stdout.split("\n").filter((l) => l !== "" && !l.startsWith(";")).map((l) => l.split(/\s+/).slice(3).join(" "));
  return { status, answers };
}

/** The SRV ports dig sees for web. */
async function srvPorts(port: number): Promise<number[]> {
  const r = await dig(port, "web.service.tiffin", "SRV");
  return r.answers.map((a) => Number(a.split(" ")[3])).sort((a, b) => a - b);
}

void test("DNS: dig sees SRV and A records follow a task's failure and replacement within a second; NXDOMAIN; survives fuzz", { timeout: 180_000 }, async (t) => {
  const dnsPort = await freeUdpTcpPort();
  process.env["TIFFIN_DNS_LISTEN"] = `127.0.0.1:${dnsPort}`;
  const c = await Cluster.start({ agents: 1 });
  delete process.env["TIFFIN_DNS_LISTEN"];
  t.after(() => c.stop());
  const client = new ApiClient({ addr: c.url, token: c.adminToken });
  await c.apply(web(3));
  const eps = await waitFor("3 endpoints", 30_000, async () => {
    const e = await client.endpoints("web");
    return e.length === 3 ? e : undefined;
  });
  const ports = eps.map((e) => e.ports[0]!.port).sort((a, b) => a - b);
  assert.deepEqual(await srvPorts(dnsPort), ports);
  const a = await dig(dnsPort, "web.service.tiffin", "A");
  assert.equal(a.status, "NOERROR");
  assert.deepEqual(a.answers, ["A 127.0.0.1", "A 127.0.0.1", "A 127.0.0.1"]);
  assert.match((await dig(dnsPort, "web.service.tiffin", "A")).answers.join(), /127\.0\.0\.1/);
  assert.deepEqual((await dig(dnsPort, "1.web.service.tiffin", "SRV")).answers, [`SRV 1 1 ${eps[1]!.ports[0]!.port} 1.web.service.tiffin.`]);
  assert.deepEqual((await dig(dnsPort, "web.service.tiffin", "SRV", true)).answers.length, 3, "over TCP too");
  assert.match((await dig(dnsPort, "web.service.tiffin", "A")).answers[0] ?? "", /^A /);
  for (const name of ["nope.service.tiffin", "7.web.service.tiffin", "_nope._tcp.web.service.tiffin"]) {
    assert.equal((await dig(dnsPort, name, "A")).status, "NXDOMAIN", name);
  }
  assert.equal((await dig(dnsPort, "example.com", "A")).status, "REFUSED");
  // TTL is short.
  const { stdout } = await run("dig", ["@127.0.0.1", "-p", String(dnsPort), "web.service.tiffin", "A", "+noall", "+answer"]);
  assert.match(stdout, /web\.service\.tiffin\.\s+1\s+IN\s+A/);

  // A real resolver (c-ares in Node), not our codec.
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`127.0.0.1:${dnsPort}`]);
  assert.deepEqual((await resolver.resolveSrv("web.service.tiffin")).map((r) => r.port).sort((x, y) => x - y), ports);
  await assert.rejects(resolver.resolve4("nope.service.tiffin"), { code: "ENOTFOUND" });

  // A task's failure: kill -9 its process; dig stops listing it within a second.
  const victim = eps[0]!;
  const status = await c.status("web");
  const pid = status.tasks.find((x) => x.index === victim.index)?.pid;
  assert.ok(pid);
  const killedAt = Date.now();
  process.kill(pid, "SIGKILL");
  await waitFor("dig drops the killed task", 5000, async () => !(await srvPorts(dnsPort)).includes(victim.ports[0]!.port), 20);
  const goneMs = Date.now() - killedAt;
  t.diagnostic(`kill -9 to gone from dig: ${goneMs} ms`);
  assert.ok(goneMs < 1000, `gone from DNS ${goneMs} ms after the kill`);
  // Its replacement: from the moment the server records the new attempt healthy to dig listing it.
  const abort = new AbortController();
  t.after(() => abort.abort());
  let healthyAt = 0;
  const watching = (async () => {
    for await (const m of client.watch({ kinds: ["attempt"], jobs: ["web"], signal: abort.signal })) {
      if (m.type === "updated" && m.kind === "attempt" && m.object?.index === victim.index && m.object.id !== victim.attemptId && m.object.state === "healthy") {
        healthyAt = Date.now();
        return;
      }
    }
  })().catch(() => undefined);
  const back = await waitFor("dig lists the replacement", 30_000, async () => {
    const now = await srvPorts(dnsPort);
    return now.length === 3 ? now : undefined;
  }, 20);
  const listedAt = Date.now();
  await Promise.race([watching, new Promise((r) => setTimeout(r, 2000))]);
  abort.abort();
  t.diagnostic(`replacement healthy to listed by dig: ${healthyAt > 0 ? listedAt - healthyAt : "?"} ms; ports now ${back.join(",")}`);
  assert.ok(healthyAt > 0, "the watch saw the replacement turn healthy");
  assert.ok(listedAt - healthyAt < 1000, `listed ${listedAt - healthyAt} ms after it turned healthy`);

  // Fuzz: random bytes, truncated and bit-flipped queries, over UDP; garbage over TCP.
  const valid = dnsPacket.encode({ type: "query", id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "SRV", name: "web.service.tiffin" }] });
  const udp = createSocket("udp4");
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 3000; i++) {
    let pkt: Buffer;
    if (i % 3 === 0) pkt = Buffer.from(Array.from({ length: rand(600) }, () => rand(256)));
    else if (i % 3 === 1) pkt = valid.subarray(0, rand(valid.length));
    else {
      pkt = Buffer.from(valid);
      for (let k = 0; k < 1 + rand(4); k++) pkt[rand(pkt.length)] = rand(256);
    }
    udp.send(pkt, dnsPort, "127.0.0.1");
    if (i % 200 === 0) await new Promise((r) => setImmediate(r));
  }
  for (let i = 0; i < 100; i++) {
    await new Promise<void>((resolve) => {
      const s = connect(dnsPort, "127.0.0.1", () => {
        const body = Buffer.from(Array.from({ length: rand(300) }, () => rand(256)));
        const head = Buffer.alloc(2);
        head.writeUInt16BE(i % 2 === 0 ? body.length : rand(65536));
        s.end(Buffer.concat([head, body]));
      });
      s.on("error", () => resolve());
      s.on("close", () => resolve());
      s.setTimeout(500, () => s.destroy());
    });
  }
  udp.close();
  assert.equal((await srvPorts(dnsPort)).length, 3, "still answers over UDP after the fuzz");
  assert.equal((await dig(dnsPort, "web.service.tiffin", "SRV", true)).answers.length, 3, "and over TCP");
  assert.ok(c.server?.exitCode === null, "the server process lives");
});
