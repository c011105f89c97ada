// The agent's view of the registry: the endpoints of the services its tasks use, followed over
// `GET /v1/agent/endpoints?service=...` (host token; the typed watch of the endpoint kind). It lists
// once, then applies each change; a dropped stream resumes from the revision after the last one
// seen (on whichever server calls go to), so no change is missed or applied twice; a revision the
// store compacted, or a new set of services, lists again. Until a list completes a service is
// "not known" (null), which holds starts rather than letting them through on no information.
import type { Logger } from "pino";
import { watchSse } from "../../api/sse-watch.ts";
import type { SseWatch } from "../../api/sse-watch.ts";
import type { SseEvent } from "../../api/sse.ts";
import { watchFrameOf } from "../../api/watch-read.ts";
import type { Endpoint } from "../../model/index.ts";

/** Options of a ServiceDirectory. */
export interface ServiceDirectoryOptions {
  /** The server calls go to now (its base URL). */
  baseUrl: () => string;
  token: () => string | null;
  /** The fetch to use (the agent's over mTLS). @default globalThis.fetch */
  fetch?: typeof fetch;
  log: Logger;
  /** Called after the endpoints of some services changed (a list, or an event). */
  onChange: (services: ReadonlySet<string>) => void;
  /** Moves to another server after a stream failed there. */
  skip?: (url: string) => void;
}

/** Follows the endpoints of a set of services (see the file comment). */
export class ServiceDirectory {
  readonly #o: ServiceDirectoryOptions;
  #services: string[] = [];
  #watch: SseWatch | null = null;
  /** By `service/index`, for the services listed. */
  #endpoints = new Map<string, Endpoint>();
  /** Events of a list under way (a connection without `from`), swapped in at its bookmark. */
  #listing: Map<string, Endpoint> | null = null;
  #listed = false;
  /** The last revision applied (0: none). */
  #revision = 0;
  #closed = false;

  constructor(o: ServiceDirectoryOptions) {
    this.#o = o;
  }

  /** The store revision the view is at. */
  get revision(): number {
    return this.#revision;
  }

  /** Follows exactly `services` (a change of the set lists again). */
  follow(services: ReadonlySet<string>): void {
    const next = [...services].sort();
    if (this.#closed || next.join(",") === this.#services.join(",")) return;
    this.#services = next;
    this.#listed = false;
    this.#revision = 0;
    this.#watch?.close();
    this.#watch = null;
    if (next.length === 0) {
      this.#endpoints.clear();
      return;
    }
    this.#watch = watchSse({
      url: () => {
        const from = this.#revision > 0 ? `&from=${this.#revision + 1}` : "";
        this.#listing = from === "" ? new Map() : null;
        return `${this.#o.baseUrl()}/v1/agent/endpoints?service=${next.map(encodeURIComponent).join(",")}${from}`;
      },
      headers: () => ({ authorization: `Bearer ${this.#o.token() ?? ""}` }),
      ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}),
      backoffInitialMs: 100,
      backoffMaxMs: 2000,
      onEvent: (ev) => this.#event(ev),
      onError: (e) => {
        if (this.#closed) return;
        this.#o.log.warn({ status: e.status, error: e.message, retryInMs: e.retryInMs }, "service endpoints watch interrupted");
        // Gone (compacted): list again. A server down or failing: the next one.
        if (e.status === 410) this.#revision = 0;
        else if (e.status === null || e.status >= 500) this.#o.skip?.(e.url);
      },
    });
  }

  /** A service's endpoints now (by task index), or null while they are not listed. */
  endpoints(service: string): Endpoint[] | null {
    if (!this.#listed || !this.#services.includes(service)) return null;
    return [...this.#endpoints.values()].filter((e) => e.service === service).sort((a, b) => a.index - b.index);
  }

  /** Drops the connection and resumes from the last revision (the server moved, the token changed). */
  restart(): void {
    this.#watch?.restart();
  }

  /** Stops following. */
  close(): void {
    this.#closed = true;
    this.#watch?.close();
  }

  #event(ev: SseEvent): void {
    const f = watchFrameOf(ev);
    if (f.kind === "expired") {
      this.#revision = 0;
      this.#watch?.restart();
      return;
    }
    if (f.kind !== "message") return;
    const m = f.message;
    if (m.type === "bookmark") {
      if (this.#listing !== null) {
        this.#endpoints = this.#listing;
        this.#listing = null;
        this.#listed = true;
        this.#revision = m.revision;
        this.#o.onChange(new Set(this.#services));
      } else this.#revision = Math.max(this.#revision, m.revision);
      return;
    }
    if (m.kind !== "endpoint") return;
    const into = this.#listing ?? this.#endpoints;
    if (m.type === "removed") into.delete(m.name);
    else if (m.object !== null) into.set(m.name, m.object);
    if (this.#listing !== null) return;
    // The id comes on a revision's last event only: resuming after it never skips part of a revision.
    const id = ev.id === null ? NaN : Number(ev.id);
    if (Number.isSafeInteger(id)) this.#revision = Math.max(this.#revision, id);
    this.#o.onChange(new Set([m.object?.service ?? m.name.split("/")[0] ?? ""]));
  }
}
