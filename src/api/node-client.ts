// The node-only half of the API client: the interactive exec session, an HTTP upgrade on a raw
// socket (./exec-upgrade.ts), which a browser cannot open. The CLI uses this class; a web page
// bundles ./index.ts, which leaves it out.

import type { Duplex } from "node:stream";
import { ApiClient, withNamespace } from "./client.ts";
import type { ApiClientOptions } from "./client.ts";
import type { ExecInput, ExecSessionRequest } from "./exec-wire.ts";
import { execQuery, LineSplitter, parseExecFrame } from "./exec-wire.ts";
import { requestUpgrade } from "./exec-upgrade.ts";
import { networkError, responseError } from "./http-errors.ts";
import type { ExecFrame } from "./types.ts";
import { TiffinError } from "../model/errors.ts";

/** `ApiClient` with the calls that need node (the exec session). */
export class NodeApiClient extends ApiClient {
  readonly #ca: string | null;

  /** `ca`: the cluster CA (PEM) an https server is trusted by (the CLI's pinned one); @default the system's trust store. */
  readonly #nodeOpts: ApiClientOptions & { ca?: string };
  constructor(opts: ApiClientOptions & { ca?: string }) {
    super(opts);
    this.#nodeOpts = opts;
    this.#ca = opts.ca ?? null;
  }

  protected override clientWith(opts: ApiClientOptions): ApiClient {
    return new NodeApiClient({ ...this.#nodeOpts, ...opts });
  }

  /**
   * The interactive exec (`POST /v1/tasks/:job/:index/exec` upgraded, see ./exec-wire.ts): the command
   * gets what is `send`, its output frames arrive on `frames`, the exit status last. Rejects like
   * other calls when the exec cannot start (no such task, not running, agent unreachable).
   */
  async execSession(job: string, index: number, req: ExecSessionRequest, opts: { signal?: AbortSignal } = {}): Promise<ExecSession> {
    const path = withNamespace(`/v1/tasks/${enc(job)}/${index}/exec?${execQuery(req)}`, this.namespace);
    const first = this.currentIndex;
    let last: unknown = null;
    for (let i = 0; i < this.addrs.length; i++) {
      const at = (first + i) % this.addrs.length;
      const addr = this.addrs[at] ?? "";
      let up: Awaited<ReturnType<typeof requestUpgrade>>;
      try {
        // The server answers once the agent started the command, which takes at least the agent's round trip.
        up = await requestUpgrade(`${addr}${path}`, this.token === null ? null : `Bearer ${this.token}`, this.timeoutMs, opts.signal ?? null, this.#ca);
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        const e = networkError(err, addr);
        if (!(e instanceof TiffinError)) throw e;
        last = e;
        continue;
      }
      if (up.kind === "response") {
        const e = await responseError(new Response(up.body, { status: up.status >= 200 && up.status <= 599 ? up.status : 502, statusText: up.statusText }), "POST", path);
        if (up.status === 503 || up.status === 504) {
          last = e;
          continue;
        }
        throw e;
      }
      this.answeredBy(at);
      return sessionOn(up.socket, up.head);
    }
    throw last;
  }
}

/** An open exec session (`NodeApiClient.execSession`). */
export interface ExecSession {
  /** The command's output and, last, its `exit` (or `error`); ends early if the connection drops. */
  frames: AsyncIterable<ExecFrame>;
  /** Sends input; false when the connection wants `drained()` before more. */
  send(f: ExecInput): boolean;
  /** Resolves when the connection takes more input (or is gone). */
  drained(): Promise<void>;
  /** Ends the session (the command is stopped if still running). */
  close(): void;
}

function sessionOn(socket: Duplex, head: Buffer): ExecSession {
  socket.on("error", () => undefined);
  async function* frames(): AsyncGenerator<ExecFrame> {
    const lines = new LineSplitter();
    const out = (chunk: Buffer): ExecFrame[] => lines.push(chunk).map((l) => parseExecFrame(l)).filter((f): f is ExecFrame => f !== null);
    if (head.length > 0) yield* out(head);
    try {
      for await (const chunk of socket as AsyncIterable<Buffer>) yield* out(chunk);
    } catch {
      // a reset connection ends the frames; the caller sees no exit frame
    }
  }
  return {
    frames: frames(),
    send: (f) => socket.writable && socket.write(JSON.stringify(f) + "\n"),
    drained: () => new Promise<void>((resolve) => (socket.writableNeedDrain ? socket.once("drain", resolve).once("close", resolve) : resolve())),
    close: () => void socket.destroy(),
  };
}

function enc(s: string): string {
  return encodeURIComponent(s);
}
