// One task's log, as `tiffin logs JOB/INDEX` shows it: the last lines of stdout or stderr, then
// followed as they come (GET /v1/tasks/:job/:index/logs?follow=1), filtered by the agent with a
// regular expression (`grep`). Keeps the last MaxLines lines (log-lines.ts).

import { useEffect, useRef, useState } from "preact/hooks";
import type { ApiClient } from "../../../src/api/index.ts";
import { hashOf } from "../route.ts";
import { appendChunk } from "../log-lines.ts";
import { UsageCharts } from "./usage.tsx";
import { Alert } from "../alert.tsx";

/** The task log page. */
export function TaskLog({ client, job, index, onError }: { client: ApiClient; job: string; index: number; onError: (err: unknown) => void }) {
  const [stream, setStream] = useState<"stdout" | "stderr">("stdout");
  const [follow, setFollow] = useState(true);
  const [grep, setGrep] = useState("");
  const [applied, setApplied] = useState("");
  const [text, setText] = useState<{ lines: string[]; partial: string }>({ lines: [], partial: "" });
  const [error, setError] = useState<string | null>(null);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const abort = new AbortController();
    setText({ lines: [], partial: "" });
    setError(null);
    void (async () => {
      try {
        const opts = { stream, follow, tail: 200, signal: abort.signal, ...(applied !== "" ? { grep: applied } : {}) };
        for await (const chunk of client.logs(job, index, opts)) setText((t) => appendChunk(t.lines, t.partial, chunk));
      } catch (err) {
        if (abort.signal.aborted) return;
        onError(err);
        setError(err instanceof Error ? err.message : String(err));
      }
    })();
    return () => abort.abort();
  }, [client, job, index, stream, follow, applied]);
  useEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text, follow]);
  const shown = text.partial !== "" ? [...text.lines, text.partial] : text.lines;
  return (
    <section aria-labelledby="log-h">
      <p>
        <a href={hashOf({ page: "job", namespace: client.namespace, name: job })}>← {job}</a>
      </p>
      <h1 id="log-h">
        {job}/{index} <small>log</small>
      </h1>
      <h2>Usage</h2>
      <UsageCharts client={client} job={job} index={index} onError={onError} />
      <h2>Log</h2>
      <form
        class="filters"
        aria-label="Log options"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(grep.trim());
        }}
      >
        <label for="stream">Stream</label>
        <select id="stream" value={stream} onChange={(e) => setStream(e.currentTarget.value === "stderr" ? "stderr" : "stdout")}>
          <option value="stdout">stdout</option>
          <option value="stderr">stderr</option>
        </select>
        <label>
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} /> Follow
        </label>
        <label for="grep">Search (regular expression)</label>
        <input id="grep" type="search" value={grep} onInput={(e) => setGrep(e.currentTarget.value)} />
        <button type="submit">Search</button>
      </form>
      <Alert error={error} />
      <pre class="log" ref={pre} role="log" aria-label={`${stream} of ${job}/${index}`} tabIndex={0}>
        {shown.join("\n")}
      </pre>
    </section>
  );
}
