import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { contextPath, readContext, resolveTarget, writeContext } from "./context.ts";
import type { ContextFile } from "./context.ts";

const ctx: ContextFile = { addr: "http://127.0.0.1:7171", token: "dev-token" };

void test("resolveTarget: flag, then env, then context file, then default", () => {
  const cases: {
    name: string;
    flags: { addr?: string; token?: string };
    env: Record<string, string>;
    context: ContextFile | null;
    want: { addr: string; token: string | null; addrFrom: string; tokenFrom: string };
  }[] = [
    { name: "nothing", flags: {}, env: {}, context: null, want: { addr: "http://127.0.0.1:7070", token: null, addrFrom: "default", tokenFrom: "none" } },
    { name: "context only", flags: {}, env: {}, context: ctx, want: { addr: ctx.addr, token: "dev-token", addrFrom: "context", tokenFrom: "context" } },
    {
      name: "env beats context",
      flags: {},
      env: { TIFFIN_ADDR: "10.0.0.1:7070", TIFFIN_TOKEN: "env-token" },
      context: ctx,
      want: { addr: "http://10.0.0.1:7070", token: "env-token", addrFrom: "env", tokenFrom: "env" },
    },
    {
      name: "flags beat env",
      flags: { addr: "http://a:1", token: "flag-token" },
      env: { TIFFIN_ADDR: "b:2", TIFFIN_TOKEN: "env-token" },
      context: ctx,
      want: { addr: "http://a:1", token: "flag-token", addrFrom: "flag", tokenFrom: "flag" },
    },
    {
      name: "another addr does not get the context's token",
      flags: { addr: "http://elsewhere:7070" },
      env: {},
      context: ctx,
      want: { addr: "http://elsewhere:7070", token: null, addrFrom: "flag", tokenFrom: "none" },
    },
    {
      name: "the context's own addr, spelled differently, keeps its token",
      flags: {},
      env: { TIFFIN_ADDR: "127.0.0.1:7171" },
      context: ctx,
      want: { addr: ctx.addr, token: "dev-token", addrFrom: "env", tokenFrom: "context" },
    },
    {
      name: "token from env with addr from context",
      flags: {},
      env: { TIFFIN_TOKEN: "env-token" },
      context: ctx,
      want: { addr: ctx.addr, token: "env-token", addrFrom: "context", tokenFrom: "env" },
    },
    {
      name: "several servers in TIFFIN_ADDR, normalized each",
      flags: {},
      env: { TIFFIN_ADDR: "10.0.0.1:7070, http://10.0.0.2:7070/,10.0.0.3:7070", TIFFIN_TOKEN: "env-token" },
      context: null,
      want: { addr: "http://10.0.0.1:7070,http://10.0.0.2:7070,http://10.0.0.3:7070", token: "env-token", addrFrom: "env", tokenFrom: "env" },
    },
  ];
  for (const c of cases) assert.deepEqual(resolveTarget(c.flags, c.env, c.context), c.want, c.name);
});

void test("contextPath: TIFFIN_HOME, else ~/.tiffin", () => {
  assert.equal(contextPath({ TIFFIN_HOME: "/x/y" }), "/x/y/context.json");
  assert.equal(contextPath({ HOME: "/home/me" }), "/home/me/.tiffin/context.json");
});

void test("the context file round-trips, is private, and a broken one is ignored", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tiffin-ctx-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "home", "context.json");
  assert.equal(readContext(path), null);
  writeContext(path, ctx);
  assert.deepEqual(readContext(path), ctx);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  writeFileSync(path, "{not json");
  assert.equal(readContext(path), null);
  writeFileSync(path, JSON.stringify({ addr: 1 }));
  assert.equal(readContext(path), null);
});
