// Lease keep-alives on a few shared etcd LeaseKeepAlive streams. etcd has no unary keep-alive, and a
// stream per heartbeat would cost a new HTTP/2 stream each time for thousands of hosts. etcd answers
// a stream's requests one by one, so each answer goes to the oldest waiting request for its lease.
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from "etcd3";
import { LeaseNotFoundError } from "./store.ts";

type Stream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

interface Waiter {
  lease: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Streams keep-alives are spread over. etcd serves one stream's requests one after another (and a
 * member that is not etcd's leader forwards each to the leader and waits), so one stream caps
 * renewals at about 1,000/s; heartbeats of thousands of hosts need several. */
const Streams = 8;

/** One keep-alive stream and the requests waiting for its answers, FIFO per lease. */
class KeepAliveStream {
  stream: Stream | null = null;
  opening: Promise<Stream> | null = null;
  waiters = new Map<string, Waiter[]>();
}

/** Sends keep-alives for a store; `once` is one request and its answer. */
export class KeepAlives {
  readonly #client: Etcd3;
  readonly #streams = Array.from({ length: Streams }, () => new KeepAliveStream());
  #next = 0;

  constructor(client: Etcd3) {
    this.#client = client;
  }

  /** One keep-alive of `lease`: resolves when etcd renewed it, rejects with `LeaseNotFoundError` if
   * it no longer exists, or with the stream's error (the caller retries: renewing is idempotent).
   * No answer within `timeoutMs` drops the stream, so the next try opens one, maybe to another member. */
  async once(lease: string, timeoutMs: number): Promise<void> {
    // Round robin: an even spread, and a stuck stream holds up only its share.
    const ks = this.#streams[this.#next++ % Streams] as KeepAliveStream;
    const stream = await this.#open(ks);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!ks.waiters.get(lease)?.includes(w)) return;
        this.#lost(ks, stream, new Error("DEADLINE_EXCEEDED: no keep-alive answer"));
      }, timeoutMs);
      const w: Waiter = {
        lease,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const list = ks.waiters.get(lease);
      if (list) list.push(w);
      else ks.waiters.set(lease, [w]);
      stream.write({ ID: lease });
    });
  }

  close(): void {
    for (const ks of this.#streams) {
      const s = ks.stream;
      ks.stream = null;
      s?.cancel();
      this.#failAll(ks, new Error("etcd store closed"));
    }
  }

  #open(ks: KeepAliveStream): Promise<Stream> {
    if (ks.stream) return Promise.resolve(ks.stream);
    ks.opening ??= this.#client.leaseClient
      .leaseKeepAlive()
      .then((stream) => {
        ks.stream = stream;
        stream.on("data", (res) => this.#answer(ks, res));
        stream.on("error", (err) => this.#lost(ks, stream, err));
        stream.on("end", () => this.#lost(ks, stream, new Error("UNAVAILABLE: etcd keep-alive stream ended")));
        return stream;
      })
      .finally(() => {
        ks.opening = null;
      });
    return ks.opening;
  }

  #answer(ks: KeepAliveStream, res: ILeaseKeepAliveResponse): void {
    const list = ks.waiters.get(res.ID);
    const w = list?.shift();
    if (!w) return;
    if (list?.length === 0) ks.waiters.delete(res.ID);
    if (Number(res.TTL) > 0) w.resolve();
    else w.reject(new LeaseNotFoundError(w.lease));
  }

  #lost(ks: KeepAliveStream, stream: Stream, err: Error): void {
    if (stream !== ks.stream) return;
    ks.stream = null;
    stream.cancel();
    this.#failAll(ks, err);
  }

  #failAll(ks: KeepAliveStream, err: Error): void {
    const ws = ks.waiters;
    ks.waiters = new Map();
    for (const list of ws.values()) for (const w of list) w.reject(err);
  }
}
