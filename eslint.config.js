// Lint rules that keep the architecture honest: no floating promises (a daemon must not lose errors),
// no cycles, and imports that point down the layers of docs/architecture.md (model at the bottom).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import importX from "eslint-plugin-import-x";

/** Each layer may import only the folders listed; everything else under src/ is forbidden. */
const layers = {
  model: [],
  spec: ["model"],
  scheduler: ["model"],
  state: ["model"],
  api: ["model"],
  helper: ["model"],
  pkg: ["model"],
  server: ["model", "spec", "scheduler", "state", "api", "pkg"],
  agent: ["model", "api", "helper", "pkg"],
  cli: ["model", "spec", "scheduler", "api", "pkg", "server/main.ts", "agent/main.ts", "helper/main.ts"],
};
const all = Object.keys(layers);
const zones = Object.entries(layers).flatMap(([layer, allowed]) =>
  all
    .filter((other) => other !== layer && !allowed.some((a) => a === other || a.startsWith(`${other}/`)))
    .map((other) => ({ target: `./src/${layer}`, from: `./src/${other}`, message: `${layer} may not import ${other} (see docs/architecture.md)` }))
    .concat(
      allowed
        .filter((a) => a.includes("/"))
        .map((a) => ({
          target: `./src/${layer}`,
          from: `./src/${a.split("/")[0]}`,
          except: [`./${a.split("/")[1]}`],
          message: `${layer} may import only ${a} from ${a.split("/")[0]}`,
        })),
    ),
);

// The dashboard (web/) reaches the server only through the API client: of src/ it may import src/api alone.
const webZones = all.filter((l) => l !== "api").map((l) => ({ target: "./web", from: `./src/${l}`, message: `the dashboard may import only src/api, not src/${l} (see docs/architecture.md)` }));

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", "build/**", "**/*.js", "**/*.mjs", "!eslint.config.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts", "**/*.tsx"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { "import-x": importX },
    settings: {
      "import-x/parsers": { "@typescript-eslint/parser": [".ts", ".tsx"] },
      "import-x/resolver": { typescript: true, node: true },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "import-x/no-cycle": "error",
      "import-x/no-restricted-paths": ["error", { zones: [...zones, ...webZones] }],
    },
  },
);
