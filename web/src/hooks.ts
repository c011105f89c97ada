// Small hooks the pages share: re-render on live changes, and an API read refreshed when the watch
// says something it depends on changed (throttled), so the figures are the server's own (the same
// views the CLI shows) while the watch decides when to ask.

import { useEffect, useRef, useState } from "preact/hooks";
import type { Live } from "./live.ts";

/** Re-renders the component when the live state changes; returns its version. */
export function useLive(live: Live): number {
  const [v, setV] = useState(live.version);
  useEffect(() => live.subscribe(() => setV(live.version)), [live]);
  return v;
}

/** The answer of `read`, fetched now, again when `key` changes (at most every `minMs`), and every
 * `everyMs` if given. `error` is the last failure's message. */
export function useRead<T>(read: () => Promise<T>, key: unknown, minMs = 500, everyMs = 0): { data: T | null; error: string | null } {
  const [state, setState] = useState<{ data: T | null; error: string | null }>({ data: null, error: null });
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const readRef = useRef(read);
  readRef.current = read;
  const run = (): void => {
    last.current = Date.now();
    readRef.current().then(
      (data) => setState({ data, error: null }),
      (err: unknown) => setState((s) => ({ data: s.data, error: err instanceof Error ? err.message : String(err) })),
    );
  };
  useEffect(() => {
    if (timer.current !== null) return;
    const wait = Math.max(0, last.current + minMs - Date.now());
    timer.current = setTimeout(() => {
      timer.current = null;
      run();
    }, wait);
  }, [key]);
  useEffect(() => {
    if (everyMs <= 0) return undefined;
    const t = setInterval(run, everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
    },
    [],
  );
  return state;
}
