import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { hostSkeleton, layoutTemplate, materialize, prepareStateDir } from "./sandbox-private.ts";
import type { HostLayout, SkeletonEntry } from "./sandbox-private.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-private-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

void test("hostSkeleton: directories to the depth asked and symlinks, no files, parents first", () => {
  const host = path.join(tmp, "host");
  fs.mkdirSync(path.join(host, "lib/redis/deep"), { recursive: true });
  fs.mkdirSync(path.join(host, "log/nginx"), { recursive: true });
  fs.chmodSync(path.join(host, "log/nginx"), 0o2750);
  fs.writeFileSync(path.join(host, "lib/redis/dump.rdb"), "secret");
  fs.symlinkSync("/run", path.join(host, "run"));
  assert.deepEqual(hostSkeleton(host, 2), [
    { kind: "dir", rel: "lib", mode: 0o755 },
    { kind: "dir", rel: "lib/redis", mode: 0o755 },
    { kind: "dir", rel: "log", mode: 0o755 },
    { kind: "dir", rel: "log/nginx", mode: 0o750 },
    { kind: "link", rel: "run", target: "/run" },
  ]);
  assert.deepEqual(hostSkeleton(path.join(tmp, "missing"), 2), []);
});

void test("materialize: owned by the task, writable by it, setgid dropped; what exists is kept", () => {
  const dir = path.join(tmp, "var");
  const skeleton: SkeletonEntry[] = [{ kind: "dir", rel: "log", mode: 0o755 }, { kind: "dir", rel: "log/redis", mode: 0o2750 }, { kind: "link", rel: "run", target: "/run" }];
  materialize(dir, skeleton, { uid: 4242, gid: 4343 });
  const st = fs.statSync(path.join(dir, "log/redis"));
  assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [4242, 4343, 0o750]);
  assert.equal(fs.readlinkSync(path.join(dir, "run")), "/run");
  assert.equal(fs.lstatSync(path.join(dir, "run")).uid, 4242);
  fs.writeFileSync(path.join(dir, "log/redis/kept.log"), "x");
  materialize(dir, skeleton, { uid: 4242, gid: 4343 });
  assert.equal(fs.readFileSync(path.join(dir, "log/redis/kept.log"), "utf8"), "x", "a persisted /var keeps its files");
});

void test("layoutTemplate: made once per layout and owner, then reused; another owner or layout gets its own", () => {
  const cache = path.join(tmp, "layouts");
  const layout: HostLayout = { var: [{ kind: "dir", rel: "lib", mode: 0o755 }, { kind: "dir", rel: "tmp", mode: 0o1777 }], run: [{ kind: "dir", rel: "lock", mode: 0o1777 }] };
  const a = layoutTemplate(cache, layout, { uid: 4242, gid: 4242 });
  assert.equal(fs.statSync(path.join(a, "var", "tmp")).mode & 0o7777, 0o1777);
  assert.equal(fs.statSync(path.join(a, "run", "lock")).uid, 4242);
  const before = fs.statSync(path.join(a, "var", "lib")).ino;
  assert.equal(layoutTemplate(cache, layout, { uid: 4242, gid: 4242 }), a);
  assert.equal(fs.statSync(path.join(a, "var", "lib")).ino, before, "not made again");
  assert.notEqual(layoutTemplate(cache, layout, { uid: 4343, gid: 4343 }), a);
  assert.notEqual(layoutTemplate(cache, { ...layout, run: [] }, { uid: 4242, gid: 4242 }), a);
  assert.deepEqual(fs.readdirSync(cache).filter((n) => n.startsWith(".")), [], "no half-made templates left");
});

void test("prepareStateDir: var with the layout and home, owned by the task; later layouts add, nothing is lost", () => {
  const state = path.join(tmp, "state", "web", "0");
  const owner = { uid: 4242, gid: 4343 };
  prepareStateDir(state, { var: [{ kind: "dir", rel: "lib", mode: 0o755 }], run: [] }, owner);
  for (const d of ["var", "home", "var/lib"]) assert.deepEqual([fs.statSync(path.join(state, d)).uid, fs.statSync(path.join(state, d)).gid], [4242, 4343], d);
  fs.writeFileSync(path.join(state, "var", "lib", "kept"), "x");
  prepareStateDir(state, { var: [{ kind: "dir", rel: "lib", mode: 0o755 }, { kind: "dir", rel: "lib/redis", mode: 0o750 }], run: [] }, owner);
  assert.equal(fs.readFileSync(path.join(state, "var", "lib", "kept"), "utf8"), "x");
  assert.ok(fs.statSync(path.join(state, "var", "lib", "redis")).isDirectory());
});
