// Preact glue for the engine contract (src/engine/api.ts): the engine in a context, a version
// number that moves when leads or the team change, the sync state, and a clock.

import { createContext } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import type { Engine, SyncInfo } from "../engine/api";

export const EngineContext = createContext<Engine | null>(null);

export function useEngine(): Engine {
  const engine = useContext(EngineContext);
  if (!engine) throw new Error("useEngine outside <EngineContext.Provider>");
  return engine;
}

/**
 * Re-renders when the engine reports changed leads (all, or only those in `ids`) or a changed
 * team document; returns a number that changes each time.
 */
export function useEngineVersion(ids?: string[]): number {
  const engine = useEngine();
  const [version, setVersion] = useState(0);
  const key = ids?.join(",");
  useEffect(
    () =>
      engine.subscribe((ev) => {
        if (ev.type === "team") setVersion((v) => v + 1);
        else if (ev.type === "leads" && (!ids || ev.ids.some((id) => ids.includes(id)))) {
          setVersion((v) => v + 1);
        }
      }),
    [engine, key],
  );
  return version;
}

export function useSyncInfo(): SyncInfo {
  const engine = useEngine();
  const [info, setInfo] = useState<SyncInfo>(() => engine.syncInfo());
  useEffect(() => {
    setInfo(engine.syncInfo());
    return engine.subscribe((ev) => {
      if (ev.type === "sync") setInfo(ev.info);
    });
  }, [engine]);
  return info;
}

/** The current time, refreshed every `everyMs` (queues and flags depend on it). */
export function useNow(everyMs = 60_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
