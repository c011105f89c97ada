import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { hostSkeleton, materialize, privateDirPaths } from "./sandbox-private.ts";

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
  const skeleton = [{ kind: "dir", rel: "log", mode: 0o755 }, { kind: "dir", rel: "log/redis", mode: 0o2750 }, { kind: "link", rel: "run", target: "/run" }] as const;
  materialize(dir, [...skeleton], { uid: 4242, gid: 4343 });
  const st = fs.statSync(path.join(dir, "log/redis"));
  assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [4242, 4343, 0o750]);
  assert.equal(fs.readlinkSync(path.join(dir, "run")), "/run");
  assert.equal(fs.lstatSync(path.join(dir, "run")).uid, 4242);
  fs.writeFileSync(path.join(dir, "log/redis/kept.log"), "x");
  materialize(dir, [...skeleton], { uid: 4242, gid: 4343 });
  assert.equal(fs.readFileSync(path.join(dir, "log/redis/kept.log"), "utf8"), "x", "a persisted /var keeps its files");
});

void test("privateDirPaths: /run always per attempt; /var and /home in the state dir when persisted", () => {
  assert.deepEqual(privateDirPaths("/a/sandbox", null), { var: "/a/sandbox/private/var", run: "/a/sandbox/private/run", home: "/a/sandbox/private/home" });
  assert.deepEqual(privateDirPaths("/a/sandbox", "/data/state/web/0"), { var: "/data/state/web/0/var", run: "/a/sandbox/private/run", home: "/data/state/web/0/home" });
});
