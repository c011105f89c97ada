// A scripted stand-in for the server's HTTP API on a real loopback socket, for tests of the client
// and the CLI: each route answers with a status and a body, or takes the raw response to stream.

import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";

/** A route's answer: JSON with a status, or a function that writes the response itself. */
export type FakeRoute = { status?: number; body: unknown } | ((req: IncomingMessage, res: ServerResponse, body: string) => void);

/** A running fake server. */
export interface FakeApi {
  url: string;
  /** Requests seen, in order: method, path with query, authorization header, body. */
  requests: { method: string; url: string; auth: string | null; body: string }[];
  close(): Promise<void>;
}

/** Starts a fake API; routes are keyed `"METHOD /path"` (query ignored). Unknown routes get 404 ApiErrorBody. */
export async function startFakeApi(routes: Record<string, FakeRoute>): Promise<FakeApi> {
  const requests: FakeApi["requests"] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", auth: req.headers.authorization ?? null, body });
      const route = routes[`${req.method} ${(req.url ?? "").split("?")[0]}`];
      if (typeof route === "function") return route(req, res, body);
      const status = route ? (route.status ?? 200) : 404;
      const payload = route ? route.body : { error: { code: "TIFFIN_NOT_FOUND", message: `no route ${req.method} ${req.url}`, hint: null, problems: [] } };
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(payload));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
