// Machine checks (the agent's view of its machine's health) and automatic remediation records: the
// stored and wire shapes, declared once (zod) with their types inferred. See src/agent/machine-checks/
// and src/server/remediation/.
import { z } from "zod";

/** How a check came out: `pass`, `warn` (shown, never acted on), `fail` (remediation rules apply). */
export const CheckStatuses = ["pass", "warn", "fail"] as const;
/** One check status. */
export type CheckStatus = (typeof CheckStatuses)[number];

/** One check's result as the agent sends it with a heartbeat (only changes are sent). */
export const machineCheckResultSchema = z.object({
  /** `disk`, `inodes`, `memory`, `clock`, `runtime`, `datadir`, or `custom:<script name>`. */
  name: z.string(),
  status: z.enum(CheckStatuses),
  /** One line for people ("/var/lib/tiffin: 97% full (1.2 GiB free)"). */
  message: z.string(),
  /** Epoch ms of the agent's clock when the check ran. */
  at: z.number(),
});
/** One check's result. */
export type MachineCheckResult = z.infer<typeof machineCheckResultSchema>;

/** One check of a host as the server keeps it: its latest result, since when it holds, and its history
 * (status changes, newest last, at most MaxCheckHistory). */
export const hostCheckSchema = machineCheckResultSchema.extend({
  since: z.number(),
  history: z.array(machineCheckResultSchema),
});
/** One check of a host as stored. */
export type HostCheck = z.infer<typeof hostCheckSchema>;

/** The value of `/checks/<hostId>`: every check the host's agent reported. */
export const hostChecksSchema = z.object({ hostId: z.string(), checks: z.record(z.string(), hostCheckSchema) });
/** The checks of one host. */
export type HostChecks = z.infer<typeof hostChecksSchema>;

/** Status changes kept per check (older ones are dropped). */
export const MaxCheckHistory = 20;
/** Checks a host may report (custom scripts beyond this are ignored by the agent and refused by the server). */
export const MaxChecksPerHost = 64;

/** What a remediation does to a host. `cordon` marks it unschedulable (its tasks stay); `drain` moves
 * its tasks away (the host's drain); `repair` runs the rule's command on the host through its agent;
 * `ticket` opens a record for a person and does nothing else. */
export const RemediationActions = ["cordon", "drain", "repair", "ticket"] as const;
/** One remediation action. */
export type RemediationAction = (typeof RemediationActions)[number];

/** Where a remediation stands. `active`: the action is in force (a cordon or drain holds, a repair runs,
 * a ticket is open); `resolved`: the check passed again and the host was returned to service;
 * `failed`: the action failed, or its host's check kept failing past the rule's `escalateAfterMs`, and
 * the next step was taken (`escalatedTo`); `ended`: the host or its check went away. */
export const RemediationStates = ["active", "resolved", "failed", "ended"] as const;
/** One remediation state. */
export type RemediationState = (typeof RemediationStates)[number];

/** The value of `/remediations/<id>`: one action taken on one host for one failing check. */
export const remediationSchema = z.object({
  id: z.string(),
  hostId: z.string(),
  hostName: z.string(),
  check: z.string(),
  /** The rule's name. */
  rule: z.string(),
  /** The step of the rule's action ladder (0 first). */
  step: z.number(),
  action: z.enum(RemediationActions),
  state: z.enum(RemediationStates),
  /** Why it was taken: the check's message when it was. */
  reason: z.string(),
  /** What came of it, for people ("drained", "repair exited 0: ok", "check passes again: undrained"). */
  outcome: z.string(),
  createdAt: z.number(),
  updatedAt: z.number(),
  /** The remediation that took over when this one failed or escalated. */
  escalatedTo: z.string().exactOptional(),
  /** The action changed the host (it was not already draining or cordoned): returning it to service undoes it. */
  changedHost: z.boolean().exactOptional(),
  /** For `repair`: the command, and once it ran, its exit code. */
  command: z.array(z.string()).exactOptional(),
  exitCode: z.number().nullable().exactOptional(),
});
/** One remediation record. */
export type Remediation = z.infer<typeof remediationSchema>;

/** The value of `/remediationalert`: set while failing hosts wait because the budget is spent. */
export const remediationAlertSchema = z.object({
  /** Hosts with a failing check that a rule covers but the budget held back. */
  blocked: z.array(z.object({ hostId: z.string(), hostName: z.string(), check: z.string() })),
  /** Which limit held them: `hosts` (N), `domain` (P% of a failure domain), `rate`. */
  limits: z.array(z.string()),
  since: z.number(),
  message: z.string(),
});
/** The remediation budget alert. */
export type RemediationAlert = z.infer<typeof remediationAlertSchema>;

/** The value of `/repairs/<hostId>`: a repair command the host's agent is to run (heartbeat answers carry it). */
export const repairRequestSchema = z.object({
  /** The remediation record it belongs to. */
  id: z.string(),
  command: z.array(z.string()).min(1),
  timeoutMs: z.number(),
});
/** A repair the agent is to run. */
export type RepairRequest = z.infer<typeof repairRequestSchema>;

/** How a repair ended, sent with the next heartbeat. */
export const repairResultSchema = z.object({
  id: z.string(),
  /** null: killed at its timeout, or it could not start. */
  exitCode: z.number().nullable(),
  /** Its first line of output, or why it did not run. */
  output: z.string(),
});
/** How a repair ended. */
export type RepairResult = z.infer<typeof repairResultSchema>;
