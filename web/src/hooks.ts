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

/** An action a button sends (drain, restart, a rollout command, a run): `busy` while one is in flight,
 * `error` the last failure's message (also handed to `onError`, which logs out on a 401). */
export function useAction(onError: (err: unknown) => void): { busy: boolean; error: string | null; act: (send: () => Promise<unknown>) => Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const act = async (send: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await send();
    } catch (err) {
      onError(err);
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, act };
}
