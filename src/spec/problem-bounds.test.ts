// Problems quote what was written, but never all of a huge value: `port "<300 KB>" is not declared`
// (found by spec-fuzz.test.ts, seed 4242) was a 300 KB message, echoed whole in the server's 422. Each
// quoted value past 64 characters is cut and its length said; the value itself stays in `value`,
// already cut to 200 characters by showValue.
import assert from "node:assert/strict";
import { test } from "node:test";
import { boundMessage } from "./problems.ts";
import { compileJobs, validateJobSpec } from "./validate.ts";

const huge = "x".repeat(300_000);

const cases: { name: string; message: string; want: string }[] = [
  { name: "a short quoted value stays", message: 'port "http" is not declared in ports (none)', want: 'port "http" is not declared in ports (none)' },
  { name: "64 characters stay", message: `port "${"y".repeat(64)}" is not declared`, want: `port "${"y".repeat(64)}" is not declared` },
  { name: "a long quoted value is cut, its length said", message: `port "${"y".repeat(100)}" is not declared`, want: `port "${"y".repeat(64)}..." (100 characters) is not declared` },
  { name: "every quoted value", message: `"${huge}" is a file, so it cannot hold "${huge}/a"`, want: `"${"x".repeat(64)}..." (300000 characters) is a file, so it cannot hold "${"x".repeat(64)}..." (300002 characters)` },
];

for (const c of cases) {
  void test(`boundMessage: ${c.name}`, () => assert.equal(boundMessage(c.message), c.want));
}

void test("boundMessage: no message is longer than 1000 characters, quoted or not", () => {
  assert.ok(boundMessage(`unquoted ${huge}`).length <= 1000);
});

void test("compileJobs and validateJobSpec: a huge undeclared port is named short", () => {
  const input = { name: "web", command: ["./web"], ports: ["http"], metrics: { port: huge } };
  const { problems } = compileJobs(input, "tiffin.ts");
  assert.ok(problems.length > 0);
  for (const p of problems) assert.ok(p.message.length <= 300, `${p.path}: ${p.message.length} characters`);
  const spec = compileJobs({ ...input, metrics: { port: "http" } }, null).specs[0];
  assert.ok(spec?.metrics);
  const server = validateJobSpec({ ...spec, metrics: { ...spec.metrics, port: huge } });
  assert.ok(server.length > 0);
  for (const p of server) assert.ok(p.message.length <= 300, `${p.path}: ${p.message.length} characters`);
});
