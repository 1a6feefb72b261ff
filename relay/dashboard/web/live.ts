// The live feed: one EventSource for the page. The browser reconnects by itself with
// Last-Event-ID; the relay then replays what was missed, or sends `reset` when it cannot, and
// every view reloads what it shows.
import type { StoreChange } from '../../store/changes.js';

type Listener = (change: StoreChange | null) => void;

const listeners = new Set<Listener>();
const stateListeners = new Set<(up: boolean) => void>();
let source: EventSource | null = null;

function connect(): void {
  source = new EventSource('/hq/api/live');
  source.addEventListener('change', (e) => {
    const change = JSON.parse((e as MessageEvent<string>).data) as StoreChange;
    for (const l of listeners) l(change);
  });
  source.addEventListener('reset', () => {
    for (const l of listeners) l(null);
  });
  source.addEventListener('open', () => {
    for (const l of stateListeners) l(true);
  });
  source.addEventListener('error', () => {
    for (const l of stateListeners) l(false);
    // Refused (e.g. the relay restarting answered 503): EventSource gives up; start again.
    if (source?.readyState === EventSource.CLOSED) {
      source = null;
      setTimeout(connect, 2000);
    }
  });
}

/** Calls `listener` with each change, or null when everything must be reloaded. */
export function onChange(listener: Listener): () => void {
  if (!source) connect();
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function onLiveState(listener: (up: boolean) => void): () => void {
  stateListeners.add(listener);
  return () => stateListeners.delete(listener);
}
