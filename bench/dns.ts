// DNS answers per second from one server core (issue 15: target 50,000). A child process answers
// with the server's own DNS code (src/server/dns/server.ts: dns-packet decode, answer.ts, shuffle,
// encode, one UDP socket) over a registry of `--services` services of `--endpoints` endpoints each;
// this process sends SRV and A questions from several sockets, keeping `--window` questions in
// flight, for `--seconds`. The figure that counts is answers per CPU second of the answering
// process (its user + system time, from process.cpuUsage): the machine is shared, so wall-clock
// rate says more about the neighbours than about the code. Both are printed.
//
// Rerun: node bench/dns.ts --seconds 5 --window 256 --services 100 --endpoints 3
import { fork } from "node:child_process";
import { createSocket } from "node:dgram";
import { parseArgs } from "node:util";
import dnsPacket from "dns-packet";
import { pino } from "pino";
import type { Endpoint } from "../src/model/index.ts";
import { startDns } from "../src/server/dns/server.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    window: { type: "string", default: "256" },
    services: { type: "string", default: "100" },
    endpoints: { type: "string", default: "3" },
    child: { type: "boolean", default: false },
  },
});
const services = Number(values.services);
const perService = Number(values.endpoints);

if (values.child) {
  // The answering side: the server's DNS code over a fixed registry.
  const registry = new Map<string, Endpoint[]>();
  for (let s = 0; s < services; s++) {
    registry.set(`svc${s}`, Array.from({ length: perService }, (_, i) => ({
      service: `svc${s}`, job: `svc${s}`, index: i, version: 1, attemptId: `a${s}-${i}`, hostId: `h${i}`, host: `host-${i}`,
      address: `10.0.${s % 250}.${i + 1}`, ports: [{ name: "http", port: 20000 + i }], state: "healthy" as const, labels: {}, since: 0,
    })));
  }
  const dns = await startDns({ listen: { host: "127.0.0.1", port: 0 }, lookup: (name) => registry.get(name) ?? null, stamp: () => 0, log: pino({ level: "warn" }) });
  process.send?.({ port: dns.port });
  process.on("message", (m: { cpu?: boolean }) => {
    if (m.cpu) process.send?.({ cpu: process.cpuUsage() });
  });
} else {
  const child = fork(import.meta.filename, ["--child", "--services", String(services), "--endpoints", String(perService)], { stdio: "inherit" });
  const ask = <T>(msg: object | null, pick: (m: unknown) => T | undefined): Promise<T> => new Promise((resolve) => {
    const on = (m: unknown): void => {
      const v = pick(m);
      if (v !== undefined) {
        child.off("message", on);
        resolve(v);
      }
    };
    child.on("message", on);
    if (msg) child.send(msg);
  });
  const port = await ask(null, (m) => (m as { port?: number }).port);
  const queries = Array.from({ length: services * 2 }, (_, i) => dnsPacket.encode({
    type: "query", id: i & 0xffff, flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: i % 2 === 0 ? "SRV" : "A", name: `svc${i >> 1}.service.tiffin` }],
  }));
  const sockets = Array.from({ length: 4 }, () => createSocket("udp4"));
  const window = Number(values.window);
  let answers = 0;
  let sent = 0;
  let running = true;
  const send = (s: (typeof sockets)[number]): void => {
    s.send(queries[sent++ % queries.length]!, port, "127.0.0.1");
  };
  for (const s of sockets) {
    s.on("message", () => {
      answers++;
      if (running) send(s);
    });
  }
  // Lost datagrams (a full socket buffer) would shrink the window: top it up every 10 ms.
  const topUp = setInterval(() => {
    for (let i = 0; running && sent - answers < window && i < window; i++) send(sockets[i % sockets.length]!);
  }, 10);
  for (let i = 0; i < window; i++) send(sockets[i % sockets.length]!);
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  const cpu0 = await ask<NodeJS.CpuUsage>({ cpu: true }, (m) => (m as { cpu?: NodeJS.CpuUsage }).cpu);
  const a0 = answers;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, Number(values.seconds) * 1000));
  const a1 = answers;
  const t1 = performance.now();
  const cpu1 = await ask<NodeJS.CpuUsage>({ cpu: true }, (m) => (m as { cpu?: NodeJS.CpuUsage }).cpu);
  running = false;
  clearInterval(topUp);
  const cpuSeconds = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1e6;
  const wall = (t1 - t0) / 1000;
  const n = a1 - a0;
  console.log(JSON.stringify({
    answers: n, seconds: Number(wall.toFixed(2)), perSecondWall: Math.round(n / wall), serverCpuSeconds: Number(cpuSeconds.toFixed(2)),
    perCpuSecond: Math.round(n / cpuSeconds), serverCoreShare: Number((cpuSeconds / wall).toFixed(2)), services, endpointsPerService: perService, window,
  }));
  for (const s of sockets) s.close();
  child.kill();
}
