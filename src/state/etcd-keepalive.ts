// Lease keep-alives on one shared etcd LeaseKeepAlive stream. etcd has no unary keep-alive, and a
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

/** Sends keep-alives for a store; `once` is one request and its answer. */
export class KeepAlives {
  readonly #client: Etcd3;
  #stream: Stream | null = null;
  #opening: Promise<Stream> | null = null;
  #waiters: Waiter[] = [];

  constructor(client: Etcd3) {
    this.#client = client;
  }

  /** One keep-alive of `lease`: resolves when etcd renewed it, rejects with `LeaseNotFoundError` if
   * it no longer exists, or with the stream's error (the caller retries: renewing is idempotent).
   * No answer within `timeoutMs` drops the stream, so the next try opens one, maybe to another member. */
  async once(lease: string, timeoutMs: number): Promise<void> {
    const stream = await this.#open();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.#waiters.includes(w)) return;
        this.#lost(stream, new Error("DEADLINE_EXCEEDED: no keep-alive answer"));
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
      this.#waiters.push(w);
      stream.write({ ID: lease });
    });
  }

  close(): void {
    const s = this.#stream;
    this.#stream = null;
    s?.cancel();
    this.#failAll(new Error("etcd store closed"));
  }

  #open(): Promise<Stream> {
    if (this.#stream) return Promise.resolve(this.#stream);
    this.#opening ??= this.#client.leaseClient
      .leaseKeepAlive()
      .then((stream) => {
        this.#stream = stream;
        stream.on("data", (res) => this.#answer(res));
        stream.on("error", (err) => this.#lost(stream, err));
        stream.on("end", () => this.#lost(stream, new Error("UNAVAILABLE: etcd keep-alive stream ended")));
        return stream;
      })
      .finally(() => {
        this.#opening = null;
      });
    return this.#opening;
  }

  #answer(res: ILeaseKeepAliveResponse): void {
    const i = this.#waiters.findIndex((w) => w.lease === res.ID);
    const w = this.#waiters[i];
    if (!w) return;
    this.#waiters.splice(i, 1);
    if (Number(res.TTL) > 0) w.resolve();
    else w.reject(new LeaseNotFoundError(w.lease));
  }

  #lost(stream: Stream, err: Error): void {
    if (stream !== this.#stream) return;
    this.#stream = null;
    stream.cancel();
    this.#failAll(err);
  }

  #failAll(err: Error): void {
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w.reject(err);
  }
}
