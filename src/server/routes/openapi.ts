// GET /v1/openapi.json: the OpenAPI description of every route this server registered.

import { tiffinVersion } from "../../api/version.ts";
import { sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { openApiDocument } from "../openapi/document.ts";
import type { OpenApiDocument } from "../openapi/document.ts";

/** Registers `GET /v1/openapi.json` (admin token, like the API it describes). Built on first request,
 * once every route is registered. */
export function openApiRoute(r: Router): void {
  let doc: OpenApiDocument | null = null;
  r.add("GET", "/v1/openapi.json", "admin", async ({ res }) => {
    doc ??= openApiDocument(r.list(), tiffinVersion());
    sendJson(res, 200, doc);
  });
}
