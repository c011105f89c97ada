// The agent's local service proxy (src/agent/services/proxy.ts) against a direct connection, on
// loopback (issue 15: throughput at least 80% of direct, added p99 latency under 1 ms). A child
// process runs an echo server (the "service"); this process runs the proxy, in front of it, and
// the load, as an agent and its task share a host:
//   - throughput: `--conns` connections each writing 64 KiB chunks as fast as the echo returns them,
//     for `--seconds`, direct then through the proxy; bytes echoed per second;
//   - latency: one connection doing `--pings` 64-byte request/replies in turn, direct then through
//     the proxy; p50 and p99 of each round trip, and the added p99.
// Three processes, as on a host: the load (the task), the proxy (the agent's), the echo server.
//
// Rerun: node bench/proxy.ts --seconds 3 --conns 4 --pings 20000
import { fork } from "node:child_process";
import net from "node:net";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { ServiceProxy } from "../src/agent/services/proxy.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    conns: { type: "string", default: "4" },
    pings: { type: "string", default: "20000" },
    child: { type: "boolean", default: false },
    proxy: { type: "string" },
  },
});

if (values.proxy !== undefined) {
  // The agent's side: the proxy in a process of its own, in front of the echo server.
  const proxy = new ServiceProxy({ service: "echo", port: 0, log: pino({ level: "warn" }) });
  const port = await proxy.listen();
  proxy.setTargets([{ key: "echo/0", address: "127.0.0.1", port: Number(values.proxy) }]);
  process.send?.({ port });
  process.on("message", () => {
    process.send?.({ stats: proxy.stats });
  });
} else if (values.child) {
  const srv = net.createServer({ noDelay: true }, (s) => {
    s.on("error", () => {});
    s.pipe(s);
  });
  srv.listen(0, "127.0.0.1", () => {
    const a = srv.address();
    process.send?.({ port: typeof a === "object" && a ? a.port : 0 });
  });
} else {
  const child = fork(new URL(import.meta.url).pathname, ["--child"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const echoPort = await new Promise<number>((resolve) => child.once("message", (m: { port: number }) => resolve(m.port)));
  const proxyChild = fork(new URL(import.meta.url).pathname, ["--proxy", String(echoPort)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const proxyPort = await new Promise<number>((resolve) => proxyChild.once("message", (m: { port: number }) => resolve(m.port)));

  const connect = (port: number): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const s = net.connect({ port, host: "127.0.0.1", noDelay: true });
      s.once("connect", () => resolve(s));
      s.once("error", reject);
    });

  const throughput = async (port: number): Promise<number> => {
    const ms = Number(values.seconds) * 1000;
    const chunk = Buffer.alloc(64 * 1024, 7);
    let bytes = 0;
    const socks = await Promise.all(Array.from({ length: Number(values.conns) }, () => connect(port)));
    const t0 = performance.now();
    await Promise.all(socks.map((s) => new Promise<void>((resolve) => {
      let inFlight = 0;
      const pump = (): void => {
        while (inFlight < 4 * chunk.length && performance.now() - t0 < ms) {
          inFlight += chunk.length;
          s.write(chunk);
        }
        if (performance.now() - t0 >= ms && inFlight <= 0) resolve();
      };
      s.on("data", (d: Buffer) => {
        bytes += d.length;
        inFlight -= d.length;
        pump();
      });
      pump();
      setTimeout(() => resolve(), ms + 2000);
    })));
    const secs = (performance.now() - t0) / 1000;
    for (const s of socks) s.destroy();
    return bytes / secs;
  };

  const latency = async (port: number): Promise<{ p50: number; p99: number }> => {
    const s = await connect(port);
    const msg = Buffer.alloc(64, 1);
    const times: number[] = [];
    for (let i = 0; i < Number(values.pings); i++) {
      const t = process.hrtime.bigint();
      await new Promise<void>((resolve) => {
        let got = 0;
        const on = (d: Buffer): void => {
          got += d.length;
          if (got >= msg.length) {
            s.off("data", on);
            resolve();
          }
        };
        s.on("data", on);
        s.write(msg);
      });
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    s.destroy();
    times.sort((a, b) => a - b);
    const q = (p: number): number => times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? NaN;
    return { p50: q(0.5), p99: q(0.99) };
  };

  const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MiB/s`;
  const direct = await throughput(echoPort);
  const proxied = await throughput(proxyPort);
  const dl = await latency(echoPort);
  const pl = await latency(proxyPort);
  console.log(`throughput (${values.conns} connections, ${values.seconds} s each): direct ${mib(direct)}, through the proxy ${mib(proxied)} = ${((100 * proxied) / direct).toFixed(0)}% of direct`);
  console.log(`round trip, 64 B (${values.pings}): direct p50 ${dl.p50.toFixed(3)} ms p99 ${dl.p99.toFixed(3)} ms; proxy p50 ${pl.p50.toFixed(3)} ms p99 ${pl.p99.toFixed(3)} ms; added p99 ${(pl.p99 - dl.p99).toFixed(3)} ms`);
  proxyChild.send("stats");
  console.log(`proxy counters: ${JSON.stringify(await new Promise((resolve) => proxyChild.once("message", (m: { stats: unknown }) => resolve(m.stats))))}`);
  proxyChild.kill();
  child.kill();
}
