// What no retry can cure: a task the kernel will refuse, checked before anything is started. The spec
// checks refuse such specs at plan and apply; specs stored before those checks, or what the agent adds
// (TASK_INDEX, PORT_*), still reach the helper, and without this a NUL in env was silently cut by
// execve's C strings and the task ran, while the other cases failed and were restarted forever.
// limits.ts by name: model/index.ts loads zod, which the helper must not (checks.ts).
import { envEntryProblem, execStringProblem, fileNameProblem, fileTreeConflicts } from "../model/limits.ts";
import type { HelperConfig } from "./protocol.ts";

/** Why the attempt can never start, one `path: message` per problem (empty when it can try). */
export function incurableStartProblems(cfg: Pick<HelperConfig, "command" | "env" | "files">): string[] {
  const out: string[] = [];
  const add = (path: string, message: string | null): void => {
    if (message !== null) out.push(`${path}: ${message}`);
  };
  cfg.command.forEach((a, i) => add(`command[${i}]`, execStringProblem(a, i === 0 ? "the program" : "an argument")));
  for (const [name, value] of Object.entries(cfg.env)) add(`env.${name}`, envEntryProblem(name, value));
  for (const path of Object.keys(cfg.files)) add(`files[${JSON.stringify(path)}]`, fileNameProblem(path));
  for (const c of fileTreeConflicts(Object.keys(cfg.files))) add(`files[${JSON.stringify(c.path)}]`, c.message);
  return out;
}

// Errors of spawn and of writing files that the same attempt would meet again on any host.
const incurableCodes: ReadonlySet<string> = new Set(["E2BIG", "ENAMETOOLONG", "ENOTDIR", "EISDIR", "ERR_INVALID_ARG_VALUE"]);

/** True when a start error (an errno or Node error code) would recur on every retry. */
export function isIncurableError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && incurableCodes.has(code);
}
