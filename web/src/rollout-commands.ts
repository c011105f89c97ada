// Which `tiffin rollout` commands a rollout accepts in its state: the job page's buttons. Pure.

/** The commands a rollout in `state` accepts, in the order the buttons show them. */
export function rolloutCommands(state: string | null, promote: boolean): ("pause" | "resume" | "promote" | "abort")[] {
  if (state === "running") return promote ? ["pause", "abort"] : ["pause", "promote", "abort"];
  if (state === "paused") return ["resume", "abort"];
  return [];
}
