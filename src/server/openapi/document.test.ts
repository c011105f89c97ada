// The OpenAPI document a real server serves: every route it registered is in it, described, and the
// document has the shape OpenAPI 3.1 requires.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestServer } from "../testing/harness.ts";
import { openApiPath } from "./document.ts";
import type { OpenApiDocument } from "./document.ts";
import { routeDocs, routeKey } from "./routes.ts";

const methods = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

/** Structural checks of OpenAPI 3.1 (the parts we emit): what a validator would reject first. */
function shapeProblems(doc: OpenApiDocument): string[] {
  const out: string[] = [];
  if (!/^3\.1\.\d+$/.test(doc.openapi)) out.push(`openapi is ${doc.openapi}`);
  const info = doc["info"] as { title?: unknown; version?: unknown } | undefined;
  if (typeof info?.title !== "string" || typeof info.version !== "string") out.push("info needs title and version");
  const schemes = ((doc["components"] as { securitySchemes?: Record<string, unknown> } | undefined)?.securitySchemes ?? {});
  const ids = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith("/")) out.push(`${path}: paths start with /`);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries(item)) {
      const at = `${method.toUpperCase()} ${path}`;
      if (!methods.has(method)) out.push(`${at}: not an HTTP method`);
      const id = op["operationId"];
      if (typeof id !== "string" || ids.has(id)) out.push(`${at}: operationId missing or repeated`);
      ids.add(String(id));
      const responses = op["responses"] as Record<string, { description?: unknown }> | undefined;
      if (!responses || Object.keys(responses).length === 0) out.push(`${at}: no responses`);
      for (const [code, r] of Object.entries(responses ?? {})) {
        if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(code)) out.push(`${at}: response key ${code}`);
        if (typeof r.description !== "string") out.push(`${at}: response ${code} without description`);
      }
      const params = (op["parameters"] ?? []) as { name: string; in: string; required?: boolean }[];
      for (const name of templated) if (!params.some((p) => p.in === "path" && p.name === name && p.required === true)) out.push(`${at}: path parameter ${name} not declared as required`);
      for (const p of params) if (!["path", "query", "header", "cookie"].includes(p.in)) out.push(`${at}: parameter ${p.name} in ${p.in}`);
      for (const s of (op["security"] ?? []) as Record<string, unknown>[]) for (const k of Object.keys(s)) if (!(k in schemes)) out.push(`${at}: security ${k} not in components`);
      const body = op["requestBody"] as { content?: Record<string, { schema?: unknown }> } | undefined;
      if (body && (!body.content || Object.keys(body.content).length === 0)) out.push(`${at}: requestBody without content`);
    }
  }
  const text = JSON.stringify(doc);
  for (const m of text.matchAll(/"\$ref":"#([^"]*)"/g)) {
    let at: unknown = doc;
    for (const part of (m[1] ?? "").split("/").slice(1)) at = typeof at === "object" && at !== null ? (at as Record<string, unknown>)[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
    if (at === undefined) out.push(`$ref #${m[1]} resolves to nothing`);
  }
  return out;
}

void test("GET /v1/openapi.json describes every route the server registered, in OpenAPI 3.1 shape", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const res = await fetch(`${ts.server.url}/v1/openapi.json`, { headers: { authorization: `Bearer ${ts.server.adminToken}` } });
  assert.equal(res.status, 200);
  const doc = (await res.json()) as OpenApiDocument;
  assert.deepEqual(shapeProblems(doc), []);

  const routes = ts.server.routes();
  assert.ok(routes.length > 40 && routes.some((r) => r.upgrade), `the router lists its routes (${routes.length})`);
  for (const r of routes) {
    const op = doc.paths[openApiPath(r.pattern)]?.[r.method.toLowerCase()];
    assert.ok(op, `${r.method} ${r.pattern} is in the document`);
    assert.ok(routeDocs[routeKey(r)], `${routeKey(r)} is described in openapi/routes.ts`);
    assert.equal(op["security"] !== undefined && (op["security"] as unknown[]).length === 0, r.auth === "none", `${r.method} ${r.pattern}: security matches auth ${r.auth}`);
  }
  // Every JSON answer, SSE message and JSON line has its schema (the client checks answers with them).
  const undescribed = routes.filter((r) => ["json", "sse", "ndjson"].includes(routeDocs[routeKey(r)]?.responds ?? "json") && routeDocs[routeKey(r)]?.response === undefined);
  assert.deepEqual(undescribed.map(routeKey), [], "routes answering JSON without a response schema");
  const jobs = doc.paths["/v1/jobs"]?.["get"] as { responses: Record<string, { content: Record<string, { schema: { type?: string; items?: { properties?: Record<string, unknown> } } }> }> };
  assert.ok(jobs.responses["200"]?.content["application/json"]?.schema.items?.properties?.["placed"], "the answer's fields are in the document");
  const keys = new Set(routes.map(routeKey));
  assert.deepEqual(Object.keys(routeDocs).filter((k) => !keys.has(k)), [], "every description has its route");

  // Schemas come from zod: the apply body carries the spec's schema, the watch its message schema.
  const apply = doc.paths["/v1/jobs"]?.["post"] as { requestBody: { content: Record<string, { schema: { properties: Record<string, { $ref?: string }> } }> } };
  const specRef = apply.requestBody.content["application/json"]?.schema.properties["spec"]?.$ref ?? "";
  const spec = (doc["components"] as { schemas: Record<string, { properties?: Record<string, unknown> }> }).schemas[specRef.replace("#/components/schemas/", "")];
  assert.ok(spec?.properties?.["replicas"], `the spec's fields (${specRef})`);
  // The compiled form the server validates (memoryMiB), not the input form users write (memory: "256Mi").
  const resources = JSON.stringify(spec?.properties?.["resources"] ?? {});
  assert.match(resources, /memoryMiB/, `apply takes the compiled spec: ${resources}`);
  assert.match(JSON.stringify(doc.paths["/v1/watch"]), /"bookmark"/);
  // `?namespace=` on every route that acts in a namespace named by query; `*` only where it lists.
  const nsParam = (path: string, method: string): { description?: string } | undefined => ((doc.paths[path]?.[method]?.["parameters"] ?? []) as { name: string; in: string; description?: string }[]).find((p) => p.name === "namespace" && p.in === "query");
  assert.match(nsParam("/v1/jobs/{name}", "get")?.description ?? "", /namespace the call acts in/);
  assert.doesNotMatch(nsParam("/v1/jobs/{name}", "get")?.description ?? "", /\*/);
  assert.match(nsParam("/v1/jobs", "get")?.description ?? "", /"\*": every namespace/);
  assert.match(nsParam("/v1/tasks/{job}/{index}/logs", "get")?.description ?? "", /namespace/);
  assert.equal(nsParam("/v1/hosts", "get"), undefined, "hosts belong to no namespace");
  assert.equal(nsParam("/v1/secrets/{ns}/{name}", "put"), undefined, "a secret names its namespace in the path");
  assert.equal((await fetch(`${ts.server.url}/v1/openapi.json`)).status, 401);
});
