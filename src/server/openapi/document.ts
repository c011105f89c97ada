// The OpenAPI 3.1 description of the HTTP API, built from the router's registered routes and their
// descriptions (./routes.ts), so a route cannot exist without being in it. Pure: served by
// GET /v1/openapi.json, checked by document.test.ts.

import { formatNeed } from "../../model/index.ts";
import { isNamespaced, listsNamespaces } from "../http/namespaces.ts";
import { ruleOf } from "../http/route-rules.ts";
import type { AuthKind } from "../http/router.ts";
import { errorBodySchema, jsonSchemaOf } from "./schemas.ts";
import { routeDocs, routeKey } from "./routes.ts";
import type { RouteDoc } from "./routes.ts";

/** A registered route, as `Router.list()` gives it. */
export interface RegisteredRoute {
  method: string;
  pattern: string;
  auth: AuthKind;
  upgrade: boolean;
}

/** The OpenAPI document (a plain JSON value). */
export type OpenApiDocument = Record<string, unknown> & { openapi: string; paths: Record<string, Record<string, Record<string, unknown>>> };

const securityOf: Record<AuthKind, { name: string; description: string } | null> = {
  admin: { name: "admin", description: "A user token: the admin token (DIR/admin.token) or one from `tiffin token create` whose policy has the operation's x-tiffin-needs" },
  join: { name: "join", description: "The join token (DIR/join.token), to register agents" },
  host: { name: "host", description: "A host token, returned by register" },
  none: null,
};

/** `/v1/jobs/:name` -> `/v1/jobs/{name}`. */
export function openApiPath(pattern: string): string {
  return pattern.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

/** The document for `routes`; routes without a description get a summary saying so. */
export function openApiDocument(routes: readonly RegisteredRoute[], version: string): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  const schemas: Record<string, unknown> = { ApiErrorBody: jsonSchemaOf(errorBodySchema) };
  const ids = new Set<string>();
  for (const r of routes) {
    const doc: RouteDoc = routeDocs[routeKey(r)] ?? { summary: "(not described)" };
    const path = openApiPath(r.pattern);
    const method = r.method.toLowerCase();
    const byMethod = (paths[path] ??= {});
    // An upgrade shares its method and path with a plain route (exec): one operation describes both.
    const existing = byMethod[method];
    if (existing) {
      existing["description"] = `${String(existing["description"] ?? "")}With \`Connection: Upgrade\`: ${doc.summary}.`;
      continue;
    }
    let id = operationId(r);
    while (ids.has(id)) id += "_";
    ids.add(id);
    byMethod[method] = hoistDefs(operation(r, doc, id), schemas);
  }
  const securitySchemes: Record<string, unknown> = {};
  for (const s of Object.values(securityOf)) if (s) securitySchemes[s.name] = { type: "http", scheme: "bearer", description: s.description };
  return {
    openapi: "3.1.0",
    info: { title: "Tiffin", version, description: "The control plane's HTTP API. Every error answer is an ApiErrorBody." },
    paths,
    components: { schemas, securitySchemes },
  };
}

/** Moves the `$defs` of embedded schemas to components.schemas and points their `$ref`s there: a
 * `#/$defs/X` inside the document would resolve against the document's root. */
function hoistDefs(op: Record<string, unknown>, schemas: Record<string, unknown>): Record<string, unknown> {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== "object" || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === "$defs" && typeof x === "object" && x !== null) {
        for (const [name, def] of Object.entries(x)) schemas[name] = walk(def);
      } else if (k === "$ref" && typeof x === "string") out[k] = x.replace(/^#\/\$defs\//, "#/components/schemas/");
      else out[k] = walk(x);
    }
    return out;
  };
  return walk(op) as Record<string, unknown>;
}

function operation(r: RegisteredRoute, doc: RouteDoc, operationId: string): Record<string, unknown> {
  const params: Record<string, unknown>[] = [...r.pattern.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
  for (const [name, description] of Object.entries(doc.query ?? {})) params.push({ name, in: "query", required: false, description, schema: { type: "string" } });
  const op: Record<string, unknown> = { operationId, summary: doc.summary, responses: responses(doc) };
  // The capabilities the route's rule (http/route-rules.ts) asks of a user token: `read on ns/default`.
  const rule = ruleOf(r.method, r.pattern, r.upgrade, r.auth);
  // A route acting in the request's namespace takes it by query (a secret's names it in its path).
  if (isNamespaced(rule) && !r.pattern.includes("/:ns/")) params.push({ name: "namespace", in: "query", required: false, description: namespaceDoc(r.method, r.pattern), schema: { type: "string" } });
  if (params.length > 0) op["parameters"] = params;
  const sec = securityOf[r.auth];
  op["security"] = sec ? [{ [sec.name]: [] }] : [];
  if (rule.who === "user") op["x-tiffin-needs"] = rule.needs.map(formatNeed);
  if (doc.body) op["requestBody"] = { required: true, content: { "application/json": { schema: jsonSchemaOf(doc.body) } } };
  else if (doc.rawBody) op["requestBody"] = { required: true, content: { "application/octet-stream": { schema: { type: "string", contentMediaType: "application/octet-stream" } } } };
  return op;
}

function namespaceDoc(method: string, pattern: string): string {
  const all = listsNamespaces(method, pattern) ? '; "*": every namespace the token may read' : "";
  return `the namespace the call acts in (a DNS label; default "default")${all}`;
}

function responses(doc: RouteDoc): Record<string, unknown> {
  const error = { description: "An error (4xx, 5xx)", content: { "application/json": { schema: { $ref: "#/components/schemas/ApiErrorBody" } } } };
  const schema = doc.response ? jsonSchemaOf(doc.response) : {};
  const kind = doc.responds ?? "json";
  const ok: Record<string, unknown> =
    kind === "json" ? { description: "OK", content: { "application/json": { schema } } }
    : kind === "sse" ? { description: "A text/event-stream; each message's data is JSON", content: { "text/event-stream": { schema: { type: "string" }, ...(doc.response ? { "x-tiffin-message-schema": schema } : {}) } } }
    : kind === "ndjson" ? { description: "JSON lines as they come", content: { "application/x-ndjson": { schema: { type: "string" } } } }
    : kind === "bytes" ? { description: "The bytes", content: { "application/octet-stream": { schema: { type: "string", contentMediaType: "application/octet-stream" } } } }
    : kind === "text" ? { description: "Text", content: { "text/plain": { schema: { type: "string" } } } }
    : { description: "Switching Protocols" };
  return { [kind === "upgrade" ? "101" : "200"]: ok, ...(doc.gone ? { "410": { description: doc.gone, content: error.content } } : {}), default: error };
}

function operationId(r: RegisteredRoute): string {
  const words = r.pattern.split("/").filter((p) => p !== "" && p !== "v1").map((p) => (p.startsWith(":") ? `by_${p.slice(1)}` : p.replace(/[^A-Za-z0-9]+/g, "_")));
  return [r.upgrade ? "upgrade" : r.method.toLowerCase(), ...words].join("_");
}
