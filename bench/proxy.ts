// The agent's local service proxy (src/agent/services/proxy.ts) against a direct connection, on
// loopback (issue 15: throughput at least 80% of direct, added p99 latency under 1 ms). A child
// process runs an echo server (the "service"); this process runs the proxy, in front of it, and
// the load, as an agent and its task share a host:
//   - throughput: `--conns` connections each writing 64 KiB chunks as fast as the echo returns them,
//     for `--seconds`, direct then through the proxy; bytes echoed per second;
//   - latency: one connection doing `--pings` 64-byte request/replies in turn, direct then through
//     the proxy; p50 and p99 of each round trip, and the added p99.
// Three processes, as on a host: the load (the task), the proxy (the agent's), the echo server.
// Kernel mode (src/agent/services/kernel-proxy.ts: an nftables DNAT from the service's local port to the
// echo server, as the agent loads it as root) is measured in the same rounds, on a port the proxy process
// holds as the agent's relay does; without root or nft it is reported as not measured.
// Direct, relayed and kernel runs alternate `--rounds` times, in a rotating order (a loaded machine drifts between runs); each
// round's ratio is printed, then the medians. On a shared machine the throughput share swings with
// the neighbours; the proxy process's CPU per GiB relayed (its own user + system time over the
// proxied run) is the steadier figure of what the relay costs.
//
// Rerun: node bench/proxy.ts --seconds 3 --conns 4 --pings 20000 --rounds 3
import { fork } from "node:child_process";
import net from "node:net";
import { parseArgs } from "node:util";
import { pino } from "pino";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ServiceProxy } from "../src/agent/services/proxy.ts";
import { detectKernelProxy, KernelRules } from "../src/agent/services/kernel-proxy.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    conns: { type: "string", default: "4" },
    pings: { type: "string", default: "20000" },
    rounds: { type: "string", default: "3" },
    child: { type: "boolean", default: false },
    proxy: { type: "string" },
  },
});

if (values.proxy !== undefined) {
  // The agent's side: the proxy in a process of its own, in front of the echo server.
  const proxy = new ServiceProxy({ service: "echo", port: 0, log: pino({ level: "warn" }) });
  const port = await proxy.listen();
  proxy.setTargets([{ key: "echo/0", address: "127.0.0.1", port: Number(values.proxy) }]);
  // The port kernel mode DNATs: held by a second relay, as the agent holds each service's port.
  const holder = new ServiceProxy({ service: "echo-kernel", port: 0, log: pino({ level: "warn" }) });
  const kernelPort = await holder.listen();
  holder.setTargets([{ key: "echo/0", address: "127.0.0.1", port: Number(values.proxy) }]);
  process.send?.({ port, kernelPort });
  process.on("message", () => {
    process.send?.({ stats: proxy.stats, cpu: process.cpuUsage() });
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
  const { port: proxyPort, kernelPort } = await new Promise<{ port: number; kernelPort: number }>((resolve) => proxyChild.once("message", (m: { port: number; kernelPort: number }) => resolve(m)));
  const probe = await detectKernelProxy("auto");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-bench-proxy-"));
  const kernel = probe.kernel ? new KernelRules({ dataDir, log: pino({ level: "warn" }) }) : null;
  await kernel?.apply([{ service: "echo", port: kernelPort, endpoints: [{ address: "127.0.0.1", port: echoPort }] }]);
  const cleanup = async (): Promise<void> => {
    await kernel?.remove();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  console.log(kernel ? `kernel mode: nftables table ${kernel.table}, DNAT 127.0.0.1:${kernelPort} -> 127.0.0.1:${echoPort}` : `kernel mode: not measured (${probe.why})`);

  const connect = (port: number): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const s = net.connect({ port, host: "127.0.0.1", noDelay: true });
      s.once("connect", () => resolve(s));
      s.once("error", reject);
    });

  const proxyState = (): Promise<{ stats: unknown; cpu: NodeJS.CpuUsage }> => {
    proxyChild.send("stats");
    return new Promise((resolve) => proxyChild.once("message", (m: { stats: unknown; cpu: NodeJS.CpuUsage }) => resolve(m)));
  };
  let lastBytes = 0;
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
    lastBytes = bytes;
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
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
  const shares: number[] = [];
  const added: number[] = [];
  const addedP50: number[] = [];
  const cpuPerGiB: number[] = [];
  const kShares: number[] = [];
  const kAdded: number[] = [];
  const kAddedP50: number[] = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    // The three runs in a rotating order: a neighbour's burst does not always land on the same one.
    const got = new Map<string, number>();
    const order = ["direct", "userspace", "kernel"];
    for (let i = 0; i < order.length; i++) {
      const which = order[(i + r) % order.length] ?? "direct";
      if (which === "direct") got.set(which, await throughput(echoPort));
      else if (which === "kernel") got.set(which, kernel ? await throughput(kernelPort) : NaN);
      else {
        const cpu0 = (await proxyState()).cpu;
        got.set(which, await throughput(proxyPort));
        const cpu1 = (await proxyState()).cpu;
        cpuPerGiB.push((cpu1.user + cpu1.system - cpu0.user - cpu0.system) / 1000 / (lastBytes / 2 ** 30));
      }
    }
    const direct = got.get("direct") ?? NaN;
    const proxied = got.get("userspace") ?? NaN;
    const viaKernel = got.get("kernel") ?? NaN;
    const dl = await latency(echoPort);
    const pl = await latency(proxyPort);
    const kl = kernel ? await latency(kernelPort) : { p50: NaN, p99: NaN };
    shares.push(proxied / direct);
    added.push(pl.p99 - dl.p99);
    addedP50.push(pl.p50 - dl.p50);
    kShares.push(viaKernel / direct);
    kAdded.push(kl.p99 - dl.p99);
    kAddedP50.push(kl.p50 - dl.p50);
    console.log(`round ${r + 1}: throughput (${values.conns} connections, ${values.seconds} s each): direct ${mib(direct)}; userspace relay ${mib(proxied)} = ${pct(proxied / direct)} of direct (proxy CPU ${(cpuPerGiB.at(-1) ?? NaN).toFixed(0)} ms per GiB); kernel ${mib(viaKernel)} = ${pct(viaKernel / direct)}. Round trip, 64 B (${values.pings}): direct p50 ${dl.p50.toFixed(3)} p99 ${dl.p99.toFixed(3)} ms; userspace p50 ${pl.p50.toFixed(3)} p99 ${pl.p99.toFixed(3)} ms (added p99 ${(pl.p99 - dl.p99).toFixed(3)}); kernel p50 ${kl.p50.toFixed(3)} p99 ${kl.p99.toFixed(3)} ms (added p99 ${(kl.p99 - dl.p99).toFixed(3)})`);
  }
  console.log(`median of ${shares.length} rounds, userspace relay: ${pct(median(shares))} of direct throughput, proxy CPU ${median(cpuPerGiB).toFixed(0)} ms per GiB relayed, added p50 ${median(addedP50).toFixed(3)} ms, added p99 ${median(added).toFixed(3)} ms`);
  console.log(`median of ${shares.length} rounds, kernel (nftables DNAT): ${pct(median(kShares))} of direct throughput, added p50 ${median(kAddedP50).toFixed(3)} ms, added p99 ${median(kAdded).toFixed(3)} ms (target: >= 80%, added p99 < 1 ms)`);
  console.log(`proxy counters: ${JSON.stringify((await proxyState()).stats)}`);
  await cleanup();
  proxyChild.kill();
  child.kill();
}
