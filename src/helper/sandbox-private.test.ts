import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { after, test } from "node:test";
import { USERNS_HOST_BASE, USERNS_RANGE_SIZE } from "./protocol.ts";
import { hostSkeleton, layoutTemplate, materialize, moveToRange, prepareStateDir, StateRangeFile } from "./sandbox-private.ts";
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

void test("prepareStateDir in a range: a state dir of the old shared range moves into the task's, ids inside kept, once", () => {
  const state = path.join(tmp, "state", "old", "0");
  const legacy = USERNS_HOST_BASE;
  const to = USERNS_HOST_BASE + 5 * USERNS_RANGE_SIZE;
  const other = USERNS_HOST_BASE + 9 * USERNS_RANGE_SIZE;
  fs.mkdirSync(path.join(state, "var", "lib", "db"), { recursive: true });
  fs.mkdirSync(path.join(state, "home"));
  const f = (rel: string, uid: number, mode = 0o600): void => {
    fs.writeFileSync(path.join(state, rel), rel, { mode });
    fs.chownSync(path.join(state, rel), uid, uid);
    fs.chmodSync(path.join(state, rel), mode);
  };
  f("var/lib/db/data", legacy + 65534);
  f("var/lib/db/app", legacy + 1000);
  f("var/lib/db/suid", legacy + 1000, 0o4755);
  f("var/lib/db/root", 0);
  fs.symlinkSync("/etc/passwd", path.join(state, "home", "link"));
  fs.lchownSync(path.join(state, "home", "link"), legacy + 65534, legacy + 65534);
  // A hard link to a file of another job's range (the task could make one to a file it may write).
  const foreign = path.join(tmp, "foreign");
  fs.writeFileSync(foreign, "theirs");
  fs.chownSync(foreign, other + 65534, other + 65534);
  fs.linkSync(foreign, path.join(state, "home", "hardlink"));
  for (const d of ["var", "var/lib", "var/lib/db", "home"]) fs.chownSync(path.join(state, d), legacy + 65534, legacy + 65534);
  prepareStateDir(state, { var: [{ kind: "dir", rel: "lib", mode: 0o755 }], run: [] }, { uid: to + 65534, gid: to + 65534 }, to);
  const owner = (rel: string): number[] => { const st = fs.lstatSync(path.join(state, rel)); return [st.uid, st.gid]; };
  for (const d of ["var", "var/lib", "var/lib/db", "home", "var/lib/db/data", "home/link"]) assert.deepEqual(owner(d), [to + 65534, to + 65534], d);
  assert.deepEqual(owner("var/lib/db/app"), [to + 1000, to + 1000], "uid 1000 inside stays 1000");
  assert.equal(fs.statSync(path.join(state, "var/lib/db/suid")).mode & 0o7777, 0o4755, "the mode a chown clears is put back");
  assert.deepEqual(owner("var/lib/db/root"), [0, 0], "host users' files are left alone");
  assert.deepEqual(owner("home/hardlink"), [other + 65534, other + 65534], "another range's hard-linked file is not taken");
  assert.equal(fs.readlinkSync(path.join(state, "home", "link")), "/etc/passwd");
  assert.equal(fs.statSync("/etc/passwd").uid, 0, "a symlink is not followed");
  assert.equal(fs.readFileSync(path.join(state, StateRangeFile), "utf8"), String(to));
  assert.equal(moveToRange(path.join(state, "var"), to), 0, "idempotent");
});

void test("moveToRange: its cost on a tree of a thousand files", () => {
  const dir = path.join(tmp, "big");
  const n = 1200;
  for (let d = 0; d < 30; d++) {
    fs.mkdirSync(path.join(dir, String(d)), { recursive: true });
    for (let i = 0; i < n / 30; i++) fs.writeFileSync(path.join(dir, String(d), String(i)), "");
  }
  execFileSync("chown", ["-R", `${USERNS_HOST_BASE + 65534}:${USERNS_HOST_BASE + 65534}`, dir]);
  const t0 = performance.now();
  const moved = moveToRange(dir, USERNS_HOST_BASE + 3 * USERNS_RANGE_SIZE);
  const ms = performance.now() - t0;
  assert.equal(moved, n + 31);
  console.log(`moveToRange: ${moved} entries in ${ms.toFixed(0)} ms (${((moved / ms) * 1000).toFixed(0)} a second)`);
});
