// The web dashboard's files (web/, built by `npm run build:web` into web/dist) served at /ui, on the
// API's origin. The files carry no data and need no token: the page asks for one and sends it with
// every API call. Hashed assets (/ui/assets/NAME-HASH.js) are cached for a year; the page itself is
// revalidated every time, so a new release is picked up on the next load.

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, resolve, sep } from "node:path";
import { ErrorCodes, TiffinError } from "../../model/index.ts";
import { sendError } from "./io.ts";

/** Where the dashboard is served. */
export const UiPrefix = "/ui";

/** The built dashboard, from src/server/http (a checkout) or dist/server/http (the package). */
export const UiRoot = resolve(import.meta.dirname, "../../../web/dist");

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".map": "application/json",
};

/** The page's policy: its own scripts, styles and API only (no CDN, no inline script, no framing). */
export const UiCsp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** How one /ui path is answered: a file under the root (with its type and caching), a redirect, or not found. */
export type UiAnswer =
  | { kind: "file"; file: string; type: string; cache: string }
  | { kind: "redirect"; location: string }
  | { kind: "none" };

/** Decides what a request path under /ui is, without touching the disk (tested by a table). Paths
 * that climb out of the root (`..`, encoded or not) and dot files are not found; a path without an
 * extension is a page of the app and gets index.html. */
export function uiAnswerOf(pathname: string, root: string = UiRoot): UiAnswer {
  if (pathname === UiPrefix) return { kind: "redirect", location: `${UiPrefix}/` };
  if (!pathname.startsWith(`${UiPrefix}/`)) return { kind: "none" };
  let rel: string;
  try {
    rel = decodeURIComponent(pathname.slice(UiPrefix.length + 1));
  } catch {
    return { kind: "none" };
  }
  const parts = rel.split("/").filter((p) => p !== "");
  if (rel.includes("\\") || rel.includes("\0") || parts.some((p) => p.startsWith("."))) return { kind: "none" };
  const ext = extname(rel);
  if (parts.length === 0 || ext === "") return { kind: "file", file: join(root, "index.html"), type: types[".html"] ?? "", cache: "no-cache" };
  const type = types[ext];
  const file = resolve(root, ...parts);
  if (type === undefined || !file.startsWith(root + sep)) return { kind: "none" };
  const hashed = parts[0] === "assets" && parts.length === 2;
  return { kind: "file", file, type, cache: hashed ? "public, max-age=31536000, immutable" : "no-cache" };
}

/** True for the paths the dashboard owns. */
export function isUiPath(pathname: string): boolean {
  return pathname === UiPrefix || pathname.startsWith(`${UiPrefix}/`);
}

/** Answers a GET or HEAD under /ui (405 to other methods), or throws a TiffinError (not found; not built). */
export async function serveUi(req: IncomingMessage, res: ServerResponse, pathname: string, root: string = UiRoot): Promise<void> {
  const method = req.method ?? "GET";
  if (method !== "GET" && method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    sendError(res, new TiffinError(ErrorCodes.BadRequest, `${method} is not allowed on ${pathname}`, { hint: "the dashboard's files are read with GET" }), 405);
    return;
  }
  const answer = uiAnswerOf(pathname, root);
  if (answer.kind === "redirect") {
    res.writeHead(308, { location: answer.location });
    res.end();
    return;
  }
  const missing = (): TiffinError =>
    new TiffinError(ErrorCodes.NotFound, `no such dashboard file: ${pathname}`, { hint: `the dashboard starts at ${UiPrefix}/` });
  if (answer.kind === "none") throw missing();
  const st = await stat(answer.file).catch(() => null);
  if (st === null || !st.isFile()) {
    if (answer.file.endsWith("index.html"))
      throw new TiffinError(ErrorCodes.NotFound, `the dashboard is not built (no ${answer.file})`, {
        hint: "run `npm run build:web` in the checkout (npm install does it too); an installed package ships it built",
      });
    throw missing();
  }
  const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const headers: Record<string, string> = {
    "content-type": answer.type,
    "cache-control": answer.cache,
    etag,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
  if (answer.type.startsWith("text/html")) {
    headers["content-security-policy"] = UiCsp;
    headers["x-frame-options"] = "DENY";
  }
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, "content-length": String(st.size) });
  if (method === "HEAD") {
    res.end();
    return;
  }
  createReadStream(answer.file).on("error", () => res.destroy()).pipe(res);
}
