// `tiffin recommend --write`'s text edit: named cases over TypeScript, JSON and YAML sources, each the
// exact text wanted (a minimal diff: only the figures change), and the forms it refuses, with why.
import assert from "node:assert/strict";
import { test } from "node:test";
import { editResources } from "./edit-resources.ts";
import type { SpecSyntax } from "./edit-resources.ts";

interface Case {
  name: string;
  syntax: SpecSyntax;
  job: string;
  text: string;
  /** The edited text, or a pattern of the refusal's reason. */
  want: string | RegExp;
}

const to = { cpu: 0.15, memoryMiB: 32 };
const cases: Case[] = [
  {
    name: "ts: object literal, both present, comments and other jobs untouched",
    syntax: "module", job: "web",
    text: `// web\nexport default [\n  job({ name: "api", resources: { cpu: 1, memory: "512Mi" } }),\n  job({\n    name: "web", // the site\n    resources: { cpu: 1, memory: "512Mi", disk: "1Gi" }, // generous\n  }),\n];\n`,
    want: `// web\nexport default [\n  job({ name: "api", resources: { cpu: 1, memory: "512Mi" } }),\n  job({\n    name: "web", // the site\n    resources: { cpu: 0.15, memory: "32Mi", disk: "1Gi" }, // generous\n  }),\n];\n`,
  },
  {
    name: "ts: single quotes and a memory in MiB as a number keep their forms",
    syntax: "module", job: "web",
    text: `export default job({ name: 'web', resources: { memory: 512, cpu: 2 } });\n`,
    want: `export default job({ name: 'web', resources: { memory: 32, cpu: 0.15 } });\n`,
  },
  {
    name: "ts: a missing field is added (multi-line literal, trailing comma kept)",
    syntax: "module", job: "web",
    text: `export default job({\n  name: "web",\n  resources: {\n    memory: "512Mi",\n  },\n});\n`,
    want: `export default job({\n  name: "web",\n  resources: {\n    memory: "32Mi",\n    cpu: 0.15,\n  },\n});\n`,
  },
  {
    name: "ts: a missing field is added (one-line literal)",
    syntax: "module", job: "web",
    text: `export default job({ name: "web", resources: { disk: "1Gi" } });\n`,
    want: `export default job({ name: "web", resources: { disk: "1Gi", cpu: 0.15, memory: "32Mi" } });\n`,
  },
  {
    name: "ts: an empty literal",
    syntax: "module", job: "web",
    text: `export default job({ name: "web", resources: {} });\n`,
    want: `export default job({ name: "web", resources: { cpu: 0.15, memory: "32Mi" } });\n`,
  },
  {
    name: "ts: a name inside a string or a comment is not the job",
    syntax: "module", job: "web",
    text: `// name: "web"\nconst s = 'name: "web"';\nexport default job({ name: "web", resources: { cpu: 1, memory: "1Gi" } });\n`,
    want: `// name: "web"\nconst s = 'name: "web"';\nexport default job({ name: "web", resources: { cpu: 0.15, memory: "32Mi" } });\n`,
  },
  {
    name: "ts: resources from a spread of shared defaults: refused",
    syntax: "module", job: "web",
    text: `export default job({ ...team, name: "web" });\n`,
    want: /job "web" has no resources: \{\.\.\.\} of its own here \(they come from elsewhere, e\.g\. a spread of shared defaults\)/,
  },
  {
    name: "ts: resources as a variable: refused",
    syntax: "module", job: "web",
    text: `export default job({ name: "web", resources: big });\n`,
    want: /resources of job "web" is not an object literal \(big\)/,
  },
  {
    name: "ts: memory from a constant: refused",
    syntax: "module", job: "web",
    text: `export default job({ name: "web", resources: { cpu: 1, memory: MEM } });\n`,
    want: /resources\.memory of job "web" is MEM, not a literal; set it to 32Mi yourself/,
  },
  {
    name: "ts: the name is computed: refused",
    syntax: "module", job: "web",
    text: "export default job({ name: `${team}-web`, resources: { cpu: 1 } });\n",
    want: /no object literal with name: "web"/,
  },
  {
    name: "ts: a label that reads name: web is not the job (the job has a command)",
    syntax: "module", job: "web",
    text: `export default job({ name: "web", command: ["./web"], constraints: { labels: { name: "web" } }, resources: { cpu: 1 } });\n`,
    want: `export default job({ name: "web", command: ["./web"], constraints: { labels: { name: "web" } }, resources: { cpu: 0.15, memory: "32Mi" } });\n`,
  },
  {
    name: "ts: two literals named web: refused",
    syntax: "module", job: "web",
    text: `export default [job({ name: "web" }), job({ name: "web" })];\n`,
    want: /2 object literals have name: "web"/,
  },
  {
    name: "json: quoted keys",
    syntax: "json", job: "web",
    text: `{\n  "name": "web",\n  "command": ["./web"],\n  "resources": {\n    "cpu": 1,\n    "memory": "512Mi",\n    "disk": "256Mi"\n  }\n}\n`,
    want: `{\n  "name": "web",\n  "command": ["./web"],\n  "resources": {\n    "cpu": 0.15,\n    "memory": "32Mi",\n    "disk": "256Mi"\n  }\n}\n`,
  },
  {
    name: "json: a missing field is added with a quoted key",
    syntax: "json", job: "web",
    text: `{\n  "name": "web",\n  "resources": {\n    "memory": "512Mi"\n  }\n}\n`,
    want: `{\n  "name": "web",\n  "resources": {\n    "memory": "32Mi",\n    "cpu": 0.15\n  }\n}\n`,
  },
  {
    name: "yaml: block map, comments kept",
    syntax: "yaml", job: "web",
    text: `# the site\nname: web\ncommand: ./web\nresources:\n  cpu: 1 # one core\n  memory: 512Mi\n  disk: 1Gi\nreplicas: 2\n`,
    want: `# the site\nname: web\ncommand: ./web\nresources:\n  cpu: 0.15 # one core\n  memory: 32Mi\n  disk: 1Gi\nreplicas: 2\n`,
  },
  {
    name: "yaml: second document, a missing field added",
    syntax: "yaml", job: "web",
    text: `name: api\ncommand: ./api\n---\nname: web\ncommand: ./web\nresources:\n  memory: "512Mi"\nreplicas: 2\n`,
    want: `name: api\ncommand: ./api\n---\nname: web\ncommand: ./web\nresources:\n  memory: "32Mi"\n  cpu: 0.15\nreplicas: 2\n`,
  },
  {
    name: "yaml: a list of jobs",
    syntax: "yaml", job: "web",
    text: `- name: api\n  command: ./api\n- name: web\n  command: ./web\n  resources:\n    cpu: 2\n`,
    want: `- name: api\n  command: ./api\n- name: web\n  command: ./web\n  resources:\n    cpu: 0.15\n    memory: 32Mi\n`,
  },
  {
    name: "yaml: flow map",
    syntax: "yaml", job: "web",
    text: `name: web\ncommand: ./web\nresources: { memory: 512 }\n`,
    want: `name: web\ncommand: ./web\nresources: { memory: 32, cpu: 0.15 }\n`,
  },
  {
    name: "yaml: resources from a merge key: refused",
    syntax: "yaml", job: "web",
    text: `base: &base\n  resources: { cpu: 1 }\n---\nname: web\ncommand: ./web\n`,
    want: /job "web" has no resources map of its own here/,
  },
];

void test("editResources: named cases", () => {
  for (const c of cases) {
    const r = editResources(c.text, c.syntax, c.job, to);
    if (typeof c.want === "string") {
      assert.ok(r.ok, `${c.name}: ${r.ok ? "" : r.reason}`);
      assert.equal(r.text, c.want, c.name);
    } else {
      assert.ok(!r.ok, `${c.name}: refused`);
      assert.match(r.reason, c.want, c.name);
    }
  }
});
