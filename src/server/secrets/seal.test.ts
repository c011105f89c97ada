import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "node:test";
import { loadSecretsKey } from "./key-file.ts";
import { keyIdOf, open, seal, sealContext } from "./seal.ts";

const key = Buffer.alloc(32, 7);
const other = Buffer.alloc(32, 8);
const plain = Buffer.from("hunter2\n\0binary", "utf8");

void test("seal and open: a table of what opens and what does not", () => {
  const s = seal(key, plain, sealContext("default", "db", 2));
  const cases: { name: string; key: Buffer; sealed: typeof s; aad: Buffer; want: "plain" | "other-key" | "tampered" }[] = [
    { name: "same key, same binding", key, sealed: s, aad: sealContext("default", "db", 2), want: "plain" },
    { name: "another key", key: other, sealed: s, aad: sealContext("default", "db", 2), want: "other-key" },
    { name: "copied onto another secret", key, sealed: s, aad: sealContext("default", "api", 2), want: "tampered" },
    { name: "an older version replayed", key, sealed: s, aad: sealContext("default", "db", 3), want: "tampered" },
    { name: "another namespace", key, sealed: s, aad: sealContext("team", "db", 2), want: "tampered" },
    { name: "ciphertext changed", key, sealed: { ...s, ciphertext: Buffer.from(Buffer.from(s.ciphertext, "base64").map((b, i) => (i === 0 ? b ^ 1 : b))).toString("base64") }, aad: sealContext("default", "db", 2), want: "tampered" },
    { name: "tag changed", key, sealed: { ...s, tag: Buffer.alloc(16).toString("base64") }, aad: sealContext("default", "db", 2), want: "tampered" },
    { name: "key id forged to ours, sealed by another key", key, sealed: { ...seal(other, plain, sealContext("default", "db", 2)), keyId: keyIdOf(key) }, aad: sealContext("default", "db", 2), want: "tampered" },
  ];
  for (const c of cases) {
    const got = open(c.key, c.sealed, c.aad);
    const kind = Buffer.isBuffer(got) ? "plain" : got.why;
    assert.equal(kind, c.want, c.name);
    if (Buffer.isBuffer(got)) assert.deepEqual(got, plain, c.name);
  }
});

void test("every seal takes a fresh nonce, and the plaintext is in no field", () => {
  const a = seal(key, plain, sealContext("default", "db", 1));
  const b = seal(key, plain, sealContext("default", "db", 1));
  assert.notEqual(a.nonce, b.nonce);
  assert.notEqual(a.ciphertext, b.ciphertext);
  assert.equal(Buffer.from(a.nonce, "base64").length, 12);
  assert.ok(!JSON.stringify(a).includes("hunter2"));
  assert.ok(!JSON.stringify(a).includes(Buffer.from("hunter2").toString("base64").slice(0, 8)));
  assert.notEqual(keyIdOf(key), keyIdOf(other));
});

void test("the key file: created 0600 on first load, the same key after, narrowed when others may read it, refused when not a key", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-key-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "secrets.key");
  const first = loadSecretsKey(file);
  assert.equal(first.created, true);
  assert.equal(first.key.length, 32);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const again = loadSecretsKey(file);
  assert.equal(again.created, false);
  assert.deepEqual(again.key, first.key);
  fs.chmodSync(file, 0o644);
  const narrowed = loadSecretsKey(file);
  assert.equal(narrowed.narrowedFrom, 0o644);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  fs.writeFileSync(file, "c2hvcnQ=\n");
  assert.throws(() => loadSecretsKey(file), /does not hold a 32-byte key/);
});
