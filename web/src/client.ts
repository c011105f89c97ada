// The API client of the page's own server.
import { ApiClient } from "../../src/api/index.ts";

/** A client of this page's own server (same origin) with `token`. */
export function clientFor(token: string): ApiClient {
  // A wrapper, not `fetch` itself: the client calls it as a method, which a browser's fetch refuses.
  return new ApiClient({ addr: location.origin, token, fetch: (input, init) => fetch(input, init) });
}
