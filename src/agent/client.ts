// The agent's calls to the server: the agent half of the API client (src/api/agent-client.ts), named
// here for the agent's modules.

export { createAgentClient } from "../api/agent-client.ts";
export type { AgentClient, CallOptions, CallResult } from "../api/agent-client.ts";
