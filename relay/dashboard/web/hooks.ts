// Loading a view's data and keeping it current from the live feed.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { StoreChange } from '../../store/changes.js';
import { onChange } from './live.js';

/** Reloads no more often than this while changes keep coming (well under the 1 s promise). */
const RELOAD_GAP_MS = 250;

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  reload: () => void;
}

/**
 * Loads with `load` now, whenever `deps` change, and again after each live change that
 * `relevant` accepts (or a reset), one reload at a time.
 */
export function useLiveData<T>(
  load: () => Promise<T>,
  deps: unknown[],
  relevant: (change: StoreChange) => boolean = () => true,
): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const state = useRef({ running: false, again: false, load, relevant });
  state.current.load = load;
  state.current.relevant = relevant;

  const run = () => {
    const s = state.current;
    if (s.running) {
      s.again = true;
      return;
    }
    s.running = true;
    s.load()
      .then(
        (d) => {
          setData(d);
          setError(null);
        },
        (e: Error) => setError(e.message),
      )
      .finally(() => {
        setTimeout(() => {
          s.running = false;
          if (s.again) {
            s.again = false;
            run();
          }
        }, RELOAD_GAP_MS);
      });
  };

  // The caller lists what its load depends on.
  useEffect(run, deps);
  useEffect(
    () =>
      onChange((change) => {
        if (change === null || state.current.relevant(change)) run();
      }),
    [],
  );
  return { data, error, reload: run };
}
