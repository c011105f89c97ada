// PieceStore's per-process memory of verified files and of recent pieces, on real files: a piece that
// changed on disk, vanished, or came from another process is never returned unverified.
//
// Whether `get` answered from memory is observed by identity: a piece kept in memory is the very
// Buffer that was put or last read (documented: "the buffer may be shared"), one read from disk is a
// new Buffer. Every test uses its own directory: the caches are per directory and per process.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { sha256 } from "./manifest.ts";
import { PieceStore } from "./pieces.ts";

const KiB = 1024;

// Buffers are compared by hand: node:assert's message for a failed comparison involving a large
// Buffer takes minutes to build.
function describe(b: Buffer | null): string {
  return b === null ? "null" : `${b.length} bytes`;
}
function same(got: Buffer | null, want: Buffer, msg = "same bytes"): void {
  assert.ok(got !== null && got.equals(want), `${msg}: got ${describe(got)}, want ${want.length} other bytes`);
}
/** The very same buffer (or both null). */
function is(got: Buffer | null, want: Buffer | null, msg: string): void {
  assert.ok(got === want, `${msg}: got ${describe(got)}, not the expected ${describe(want)}`);
}
function isNot(got: Buffer | null, other: Buffer, msg: string): void {
  assert.ok(got !== other, `${msg}: got the same buffer`);
}

function tmp(t: TestContext): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-pieces-"));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** What PieceStore compares to decide a file is the one it verified. */
function signature(file: string): string {
  const st = fs.statSync(file, { bigint: true });
  return `${st.ino}:${st.size}:${st.mtimeNs}`;
}

/** Rewrites `file` in place (same inode), retrying until its mtime moved (a coarse clock can leave
 * it unchanged within one tick: that is not the case under test here). */
async function overwriteInPlace(file: string, bytes: Buffer): Promise<void> {
  const before = signature(file);
  for (let i = 0; i < 100; i++) {
    const fd = fs.openSync(file, "r+");
    try {
      fs.writeSync(fd, bytes, 0, bytes.length, 0);
      fs.ftruncateSync(fd, bytes.length);
    } finally {
      fs.closeSync(fd);
    }
    if (signature(file) !== before) {
      assert.equal(signature(file).split(":")[0], before.split(":")[0], "same inode");
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`${file}: mtime never changed`);
}

/** Writes a piece file as another writer would, bypassing `put`. */
function writeRaw(store: PieceStore, hash: string, bytes: Buffer): string {
  const file = store.pathOf(hash);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  return file;
}

async function stored(store: PieceStore, data: Buffer): Promise<string> {
  const r = await store.put(data);
  assert.ok("hash" in r, JSON.stringify(r));
  return r.hash;
}

const overwrites: { name: string; corrupt: (b: Buffer) => Buffer }[] = [
  { name: "same size, different bytes", corrupt: (b) => Buffer.from(b).fill(0x5a, 0, 64) },
  { name: "one byte flipped", corrupt: (b) => Buffer.from(b).fill(b[b.length - 1]! ^ 1, b.length - 1) },
  { name: "longer", corrupt: (b) => Buffer.concat([b, Buffer.from("x")]) },
  { name: "shorter", corrupt: (b) => b.subarray(0, b.length - 1) },
];
for (const how of ["stored by put", "read by get"] as const) {
  for (const memoryBytes of [0, 1024 * KiB]) {
    for (const o of overwrites) {
      void test(`a piece ${how}, then overwritten in place (${o.name}), ${memoryBytes ? "kept in memory" : "no memory"}: get refuses and removes it`, async (t) => {
        const s = new PieceStore(tmp(t), { memoryBytes });
        const data = randomBytes(64 * KiB);
        const hash = sha256(data);
        let first: Buffer;
        if (how === "stored by put") {
          assert.equal(await stored(s, data), hash);
          first = data;
        } else {
          writeRaw(s, hash, data);
          first = (await s.get(hash))!;
          same(first, data);
        }
        const again = (await s.get(hash))!;
        same(again, data);
        if (memoryBytes) is(again, first, "precondition: served from memory");
        else isNot(again, first, "precondition: read from disk");

        await overwriteInPlace(s.pathOf(hash), o.corrupt(data));
        is(await s.get(hash), null, "refused");
        assert.equal(fs.existsSync(s.pathOf(hash)), false, "the corrupt file is removed");
        assert.equal(s.has(hash), false);
        // Stored again, it is whole again.
        assert.equal(await stored(s, data), hash);
        same(await s.get(hash), data);
      });
    }
  }
}

for (const memoryBytes of [0, 1024 * KiB]) {
  void test(`a piece whose file was deleted is not returned (${memoryBytes ? "kept in memory" : "no memory"})`, async (t) => {
    const s = new PieceStore(tmp(t), { memoryBytes });
    const data = randomBytes(32 * KiB);
    const hash = await stored(s, data);
    assert.equal((await s.get(hash)) === data, memoryBytes > 0, "precondition: in memory only with a budget");
    fs.rmSync(s.pathOf(hash));
    is(await s.get(hash), null, "gone");
    assert.equal(s.has(hash), false);
  });
}

void test("the memory budget keeps the most recently used pieces and evicts the least recently used", async (t) => {
  const piece = 64 * KiB;
  const s = new PieceStore(tmp(t), { memoryBytes: 3 * piece });
  const [a, b, c, d] = [0, 1, 2, 3].map(() => randomBytes(piece)) as [Buffer, Buffer, Buffer, Buffer];
  const [ha, hb, hc, hd] = [await stored(s, a), await stored(s, b), await stored(s, c), await stored(s, d)];
  // a was least recent when d came in: evicted. Reading it back from disk makes it most recent,
  // evicting b (now least recent).
  const a2 = (await s.get(ha))!;
  isNot(a2, a, "a was evicted: read from disk");
  same(a2, a);
  // Every piece read from memory becomes most recent, so the checks below go from least to most recent.
  is(await s.get(hc), c, "c in memory");
  is(await s.get(hd), d, "d in memory");
  is(await s.get(ha), a2, "a in memory (as read back)");
  const b2 = (await s.get(hb))!;
  isNot(b2, b, "b was evicted");
  same(b2, b);
  // Order now: d, a, b. A double-sized piece pushes out the two least recent (d, then a).
  const e = randomBytes(2 * piece);
  const he = await stored(s, e);
  is(await s.get(hb), b2, "b, recently used, still in memory");
  is(await s.get(he), e, "e in memory");
  for (const [h, buf, name] of [[hd, d, "d"], [ha, a2, "a"]] as const) {
    const got = (await s.get(h))!;
    isNot(got, buf, `${name} was evicted by the larger piece`);
    same(got, buf);
  }

  // A piece over the whole budget is never kept.
  const big = randomBytes(4 * piece);
  const hbig = await stored(s, big);
  const bigAgain = await s.get(hbig);
  isNot(bigAgain, big, "a piece over the budget is read from disk");
  same(bigAgain, big);
});

void test("two PieceStores of one directory share what was verified", async (t) => {
  const dir = tmp(t);
  const a = new PieceStore(dir);
  const b = new PieceStore(dir);
  const data = randomBytes(48 * KiB);
  const hash = sha256(data);
  const file = writeRaw(a, hash, data);
  // Whole seconds, so the mtime can be put back exactly (utimes takes seconds as a double).
  const when = 1_700_000_000;
  fs.utimesSync(file, when, when);
  same(await a.get(hash), data, "a hashes it and remembers the file");
  const sig = signature(file);

  // Changed in place with the signature put back: only a store that trusts the verification made
  // through `a` returns these bytes without hashing them.
  const forged = Buffer.from(data).fill(0, 0, 1024);
  await overwriteInPlace(file, forged);
  fs.utimesSync(file, when, when);
  assert.equal(signature(file), sig, "precondition: same inode, size and mtime");
  same(await b.get(hash), forged, "b skipped the hash: a's verification is shared");

  // The same directory under another name is another cache: nothing verified there, so it hashes.
  const alias = `${dir}-alias`;
  fs.symlinkSync(dir, alias);
  t.after(() => fs.rmSync(alias, { force: true }));
  is(await new PieceStore(alias).get(hash), null, "hashed, refused, removed");
  assert.equal(a.has(hash) || b.has(hash), false);
});

/** Runs a script in another node process (waits for it to exit). */
function otherProcess(script: string, ...args: string[]): string {
  return execFileSync(process.execPath, ["-e", script, ...args], { encoding: "utf8", timeout: 30_000 });
}

// Writes argv[2] bytes of random data as a piece under argv[1] (by rename, a new inode, or in place
// when argv[4] is "in-place"); named by their own hash, or by argv[3] when given (a lie).
const writer = `
const fs = require("node:fs"), path = require("node:path"), crypto = require("node:crypto");
const [dir, size, name, mode] = process.argv.slice(1);
const data = crypto.randomBytes(Number(size));
const hash = name || crypto.createHash("sha256").update(data).digest("hex");
const file = path.join(dir, hash.slice(0, 2), hash);
fs.mkdirSync(path.dirname(file), { recursive: true });
if (mode === "in-place") { const fd = fs.openSync(file, "r+"); fs.writeSync(fd, data, 0, data.length, 0); fs.closeSync(fd); }
else { fs.writeFileSync(file + ".tmp", data); fs.renameSync(file + ".tmp", file); }
process.stdout.write(hash + " " + data.toString("base64"));
`;

const others: { name: string; known: boolean; lie: boolean; mode: "rename" | "in-place"; intact: boolean }[] = [
  { name: "a new, valid piece is returned", known: false, lie: false, mode: "rename", intact: true },
  { name: "a new piece under a wrong name is refused", known: false, lie: true, mode: "rename", intact: false },
  { name: "a verified piece replaced (new inode) with wrong bytes is refused", known: true, lie: true, mode: "rename", intact: false },
  { name: "a verified piece overwritten in place with wrong bytes is refused", known: true, lie: true, mode: "in-place", intact: false },
];
for (const k of others) {
  void test(`written by another process: ${k.name}`, async (t) => {
    const s = new PieceStore(tmp(t), { memoryBytes: 1024 * KiB });
    const size = 40 * KiB;
    let name = "";
    let before: Buffer | null = null;
    if (k.known) {
      before = randomBytes(size);
      name = await stored(s, before);
      is(await s.get(name), before, "precondition: verified and in memory");
    } else if (k.lie) name = sha256(randomBytes(8));
    const sigBefore = k.known ? signature(s.pathOf(name)) : null;
    const [hash = "", b64 = ""] = otherProcess(writer, s.dir, String(size), k.lie ? name : "", k.mode).split(" ");
    const written = Buffer.from(b64, "base64");
    if (sigBefore) assert.notEqual(signature(s.pathOf(hash)), sigBefore, "precondition: the file's signature changed");
    const got = await s.get(hash);
    if (k.intact) {
      same(got, written);
      assert.equal(sha256(got!), hash);
    } else {
      is(got, null, "refused");
      assert.equal(s.has(hash), false, "removed, so it is fetched again");
    }
  });
}
