// The stored and sent shapes of hosts, structural (the bounds an agent's claims must meet are the
// server's check of register, src/server/routes/agent-input.ts). host.ts keeps the documented types.
import { z } from "zod";
import { DrainBlockReasons, DrainThenActions } from "./host.ts";
import type { FailureDomain, Host, HostDrain, HostInventory } from "./host.ts";
import type { Assert, TypesMatch } from "./resources.ts";

/** What an agent reports about its machine (HostInventory). */
export const hostInventorySchema = z.object({
  name: z.string(),
  address: z.string(),
  cores: z.number(),
  memoryMiB: z.number(),
  diskMiB: z.number(),
  os: z.object({ id: z.string(), version: z.string() }),
  kernel: z.string(),
  labels: z.record(z.string(), z.string()),
  runtime: z.string(),
  capabilities: z.array(z.string()).exactOptional(),
  unsandboxed: z.boolean().exactOptional(),
});

/** A drain in progress (HostDrain). */
export const hostDrainSchema = z.object({
  startedAt: z.number(),
  deadline: z.number().nullable(),
  then: z.enum(DrainThenActions),
  checkedAt: z.number().nullable(),
  blocked: z.array(z.object({ job: z.string(), reason: z.enum(DrainBlockReasons), detail: z.string(), tasks: z.array(z.number().int()), since: z.number() })),
  actedAt: z.number().nullable(),
});

/** A stored host record (`/hosts/<id>`). */
export const hostSchema = hostInventorySchema.extend({
  id: z.string(),
  domain: z.object({ region: z.string(), datacenter: z.string(), cluster: z.string(), rack: z.string() }),
  draining: z.boolean(),
  registeredAt: z.number(),
  unschedulable: z.boolean().exactOptional(),
  drain: hostDrainSchema.exactOptional(),
  decommissionedAt: z.number().exactOptional(),
});

/** Compile-time proof that the schemas above and host.ts's types are the same shapes. */
export type HostSchemaChecks = [
  Assert<TypesMatch<z.infer<typeof hostInventorySchema>, HostInventory>>,
  Assert<TypesMatch<z.infer<typeof hostSchema>, Host>>,
  Assert<TypesMatch<z.infer<typeof hostSchema>["domain"], FailureDomain>>,
  Assert<TypesMatch<z.infer<typeof hostDrainSchema>, HostDrain>>,
];
