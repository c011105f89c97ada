// The server's `exec` for command checks: the command runs in a task's running attempt through its
// agent (`POST /v1/exec/:attemptId`, host token), the same path and audit log as `tiffin exec`
// (routes/exec-target.ts), recorded as user "tiffin rollout". Output frames are collected (bounded),
// the exit frame decides; aborting `signal` (the check's timeout) closes the agent's stream, which
// kills the command there.

import { parseExecFrame } from "../../api/exec-wire.ts";
import { errorMessageOf } from "../../api/http-errors.ts";
import { plainDial } from "../agent-dial.ts";
import type { ServerContext } from "../context.ts";
import { execTarget, startAudit } from "../routes/exec-target.ts";
import { OUTPUT_MAX } from "./custom-check.ts";
import type { ExecFn } from "./custom-check.ts";

/** Who the audit log says ran a command check. */
export const RolloutExecUser = "tiffin rollout";

/** The exec of command checks over `ctx()` (null until the server's context exists). */
export function taskExec(ctx: () => ServerContext | null): ExecFn {
  return async (argv, { signal, task }) => {
    const c = ctx();
    if (c === null) throw new Error("the server is still starting");
    if (task === null) throw new Error("no new task of the phase serves to run the command in");
    const t = execTarget(c, { job: task.job, index: String(task.index) });
    const command = [...argv];
    const finish = await startAudit(c, t, command, RolloutExecUser, null);
    let res: Response;
    try {
      const dial = c.agentDial ?? plainDial();
      res = await dial.fetch(t.attempt.hostId)(dial.url(t.host.address, `/v1/exec/${encodeURIComponent(t.attempt.id)}`), {
        method: "POST",
        headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json" },
        body: JSON.stringify({ command }),
        signal,
      });
    } catch (err) {
      await finish({ error: signal.aborted ? "timed out" : `agent unreachable: ${(err as Error).message}` });
      throw new Error(`cannot reach the agent of host ${t.host.name} at ${t.host.address}: ${(err as Error).message}`, { cause: err });
    }
    if (res.status !== 200 || !res.body) {
      const text = await res.text();
      const message = errorMessageOf(text) ?? text;
      await finish({ error: message });
      throw new Error(`the agent of host ${t.host.name} refused the exec (${res.status}): ${message.slice(0, 300)}`);
    }
    let output = "";
    let pending = "";
    let exit: { code: number | null; signal: string | null } | null = null;
    let failure: string | null = null;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        pending += decoder.decode(chunk, { stream: true });
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          const f = line.trim() === "" ? null : parseExecFrame(line);
          if (f === null) continue;
          if (f.type === "stdout" || f.type === "stderr") {
            // Frames carry their bytes in base64.
            if (output.length < OUTPUT_MAX) output += Buffer.from(f.data, "base64").toString("utf8");
          } else if (f.type === "exit") exit = { code: f.code, signal: f.signal };
          else if (f.type === "error") failure = f.message;
        }
      }
    } catch (err) {
      await finish({ error: signal.aborted ? "timed out" : `the agent's stream broke: ${(err as Error).message}` });
      throw err;
    }
    if (exit === null) {
      await finish({ error: failure ?? "the agent's stream ended without an exit status" });
      throw new Error(failure ?? "the agent's stream ended without an exit status");
    }
    await finish({ exitCode: exit.code, signal: exit.signal });
    return { exitCode: exit.signal === null ? exit.code : null, output: output.slice(0, OUTPUT_MAX) };
  };
}
