// Tests that load the dashboard need it built (npm install does it; a bare clone may not have).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UiRoot } from "../http/ui-static.ts";

/** Builds web/ into web/dist unless it is built already. */
export function ensureUiBuilt(): void {
  if (existsSync(join(UiRoot, "index.html"))) return;
  const root = join(import.meta.dirname, "../../..");
  execFileSync(process.execPath, [join(root, "node_modules/vite/bin/vite.js"), "build", "web", "--logLevel", "warn"], { cwd: root, stdio: "inherit" });
}
