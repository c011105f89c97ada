import assert from "node:assert/strict";
import { test } from "node:test";
import { moduleFile } from "./module-file.ts";

void test("moduleFile names the sibling as the running module is: source or built", () => {
  const cases: { name: string; relative: string; base: string; want: string }[] = [
    { name: "source beside source", relative: "./worker.ts", base: "file:///r/src/state/sqlite.ts", want: "file:///r/src/state/worker.ts" },
    { name: "built beside built", relative: "./worker.ts", base: "file:///p/dist/state/sqlite.js", want: "file:///p/dist/state/worker.js" },
    { name: "up a folder, built", relative: "../helper/main.ts", base: "file:///p/dist/agent/helper-bundle.js", want: "file:///p/dist/helper/main.js" },
    { name: "a non-module file is kept", relative: "../../schema/job.schema.json", base: "file:///p/dist/spec/schema.js", want: "file:///p/schema/job.schema.json" },
    { name: "a .ts in a folder name is kept", relative: "./a.ts/x.json", base: "file:///p/dist/x.js", want: "file:///p/dist/a.ts/x.json" },
  ];
  for (const c of cases) assert.equal(moduleFile(c.relative, c.base).href, c.want, c.name);
});
