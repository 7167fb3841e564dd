import { useCallback, useEffect, useState, type KeyboardEvent } from "react";
import { useSearchParams } from "react-router-dom";

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

// Runs `load` whenever `deps` change; the latest answer wins.
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (e: Error) => live && setState({ data: null, error: e.message, loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

// One URL search parameter as state (the URL is the source of truth: every view is a deep link).
// `replace` updates the current history entry instead of adding one (selection moved by arrow keys,
// search typing), so Back leaves the view rather than replaying every step.
export function useParam(name: string, fallback = "", replace = false): [string, (v: string) => void] {
  const [params, setParams] = useSearchParams();
  const value = params.get(name) ?? fallback;
  const set = useCallback(
    (v: string) =>
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          if (v === "" || v === fallback) next.delete(name);
          else next.set(name, v);
          return next;
        },
        { replace },
      ),
    [name, fallback, replace, setParams],
  );
  return [value, set];
}

// Arrow-key navigation between rows of a table: rows carry data-row and tabIndex; Enter opens.
export function rowKeys(e: KeyboardEvent<HTMLElement>, open: () => void) {
  const row = e.currentTarget;
  if (e.key === "Enter") {
    open();
    e.preventDefault();
    return;
  }
  if (e.key !== "ArrowDown" && e.key !== "ArrowUp" && e.key !== "j" && e.key !== "k") return;
  const container = row.closest("[data-rows]");
  if (!container) return;
  const all = Array.from(container.querySelectorAll<HTMLElement>("[data-row]"));
  const i = all.indexOf(row);
  const next = all[e.key === "ArrowDown" || e.key === "j" ? i + 1 : i - 1];
  if (next) {
    next.focus();
    e.preventDefault();
  }
}
