// The remediation configuration (`tiffin server --remediation FILE`, YAML or JSON): rules mapping
// failing machine checks to a ladder of actions, and the budget. Read once at start; every server of
// a cluster should be given the same file (only the leader acts, and a new leader acts by its own).
import fs from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ErrorCodes, formatPath, RemediationActions, TiffinError } from "../../model/index.ts";

/** One rule: which failing checks it covers and what to do, step by step. */
export const remediationRuleSchema = z.strictObject({
  name: z.string().min(1).max(64),
  /** Check names it covers: exact (`disk`, `custom:ecc`) or a prefix ending in `*` (`custom:*`). */
  checks: z.array(z.string().min(1)).min(1),
  /** The ladder: the first action is taken when the check fails; the next when the check still fails
   * `escalateAfterMs` later, or at once when a repair fails. Repeat an action to retry it. */
  actions: z.array(z.enum(RemediationActions)).min(1).max(10),
  /** How long a check must fail before the rule acts (a flapping check is not acted on). @default 0 */
  forMs: z.number().int().min(0).default(0),
  /** How long a step may leave the check failing before the next step. @default 600000 */
  escalateAfterMs: z.number().int().min(0).default(600_000),
  /** When the check passes again: undo the cordon or drain (true), or leave the host for a person. @default true */
  returnToService: z.boolean().default(true),
  /** For `repair`: the command the host's agent runs (argv). */
  command: z.array(z.string().min(1)).min(1).optional(),
  /** A repair command's time limit: killed past it, and the repair failed. @default 300000 */
  commandTimeoutMs: z.number().int().min(100).default(300_000),
});
/** One rule, defaults filled in. */
export type RemediationRule = z.infer<typeof remediationRuleSchema>;

/** The budget: how much of the fleet automation may hold at once. */
export const remediationBudgetSchema = z.strictObject({
  /** Hosts under remediation (any action but `ticket`) at once. @default 1 */
  maxHosts: z.number().int().min(0).default(1),
  /** Percent of any failure domain (rack, cluster, datacenter, region) under remediation at once;
   * a domain's share is floored, but one host of any domain may always be taken (maxHosts still holds). @default 10 */
  maxDomainPct: z.number().min(0).max(100).default(10),
  /** New hosts taken into remediation per `ratePerMs`. @default 5 */
  rateCount: z.number().int().min(0).default(5),
  /** @default 3600000 (an hour) */
  ratePerMs: z.number().int().min(1).default(3_600_000),
});
/** The budget, defaults filled in. */
export type RemediationBudget = z.infer<typeof remediationBudgetSchema>;

/** The whole file. */
export const remediationConfigSchema = z.strictObject({
  rules: z.array(remediationRuleSchema).default([]),
  budget: remediationBudgetSchema.default(remediationBudgetSchema.parse({})),
}).superRefine((c, ctx) => {
  c.rules.forEach((r, i) => {
    if (r.actions.includes("repair") && r.command === undefined) ctx.addIssue({ code: "custom", path: ["rules", i, "command"], message: `rule "${r.name}" has a repair action but no command` });
  });
});
/** The remediation configuration. */
export type RemediationConfig = z.infer<typeof remediationConfigSchema>;

/** No rules: nothing is remediated (checks are still shown). */
export const NoRemediation: RemediationConfig = remediationConfigSchema.parse({});

/** The configuration of `text` (YAML or JSON); `where` names it in errors. */
export function parseRemediationConfig(text: string, where: string): RemediationConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new TiffinError(ErrorCodes.Usage, `${where}: not YAML or JSON: ${(err as Error).message}`, { hint: "a YAML or JSON file: rules: [{name, checks: [\"custom:*\"], actions: [drain, ticket]}], budget: {maxHosts, maxDomainPct, rateCount, ratePerMs}" });
  }
  const r = remediationConfigSchema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${formatPath(i.path) || "(top)"}: ${i.message}`).join("; ");
  throw new TiffinError(ErrorCodes.Usage, `${where}: invalid remediation config: ${issues}`, { hint: "rules: [{name, checks: [\"custom:*\"], actions: [drain, ticket]}], budget: {maxHosts, maxDomainPct, rateCount, ratePerMs}" });
}

/** Reads the configuration file. */
export function loadRemediationConfig(file: string): RemediationConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new TiffinError(ErrorCodes.Usage, `--remediation ${file}: cannot read: ${(err as Error).message}`, { hint: "give a readable YAML or JSON file" });
  }
  return parseRemediationConfig(text, file);
}

/** The rule covering check `name` (the first that names it), or null. */
export function ruleFor(rules: readonly RemediationRule[], name: string): RemediationRule | null {
  for (const r of rules) {
    if (r.checks.some((c) => (c.endsWith("*") ? name.startsWith(c.slice(0, -1)) : c === name))) return r;
  }
  return null;
}
