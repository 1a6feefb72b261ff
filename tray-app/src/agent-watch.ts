// Keeps the tray's picture of the agent current: asks the local API for its status every few
// seconds; when the agent cannot be reached (stopped, restarting, on a new port), reports
// null and tries again with a growing wait, finding the API afresh each time.
import { type LocalApiClient, localApiClient } from '../../agent/local-api-client.js';
import type { AgentView } from '../../agent/views.js';
import type { Located } from './locate.js';

export interface AgentWatchOptions {
  /** Where the API is now (called again before each reconnect). */
  locate(): Located;
  /** Every status read, and null each time the agent cannot be reached. */
  onUpdate(view: AgentView | null, why?: string): void;
  /** Between reads while connected (default 3 s: the tray must not keep the agent busy). */
  pollMs?: number;
  /** Reconnect waits: doubling from min to max (default 1 s .. 10 s). */
  retry?: { minMs: number; maxMs: number };
}

export class AgentWatch {
  readonly #o: AgentWatchOptions;
  readonly #pollMs: number;
  readonly #retry: { minMs: number; maxMs: number };
  #client: LocalApiClient | null = null;
  #failures = 0;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #reading = false;
  /** refresh() was called during a read: read again right after it. */
  #again = false;

  constructor(opts: AgentWatchOptions) {
    this.#o = opts;
    this.#pollMs = opts.pollMs ?? 3000;
    this.#retry = opts.retry ?? { minMs: 1000, maxMs: 10_000 };
  }

  /** The client of the API found last, for the menu's actions; null while unreachable. */
  get client(): LocalApiClient | null {
    return this.#client;
  }

  start(): void {
    void this.#tick();
  }

  /** Reads the status now (after an action), instead of at the next tick. */
  refresh(): void {
    if (this.#stopped) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    void this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  async #tick(): Promise<void> {
    this.#timer = null;
    this.#reading = true;
    let why: string | undefined;
    if (!this.#client) {
      const found = this.#o.locate();
      if ('error' in found) why = found.error;
      else this.#client = localApiClient(found.url);
    }
    let view: AgentView | null = null;
    if (this.#client) {
      try {
        view = await this.#client.status();
      } catch (err) {
        why = (err as Error).message;
        this.#client = null;
      }
    }
    this.#reading = false;
    if (this.#stopped) return;
    this.#failures = view ? 0 : this.#failures + 1;
    this.#o.onUpdate(view, why);
    let wait = view
      ? this.#pollMs
      : Math.min(this.#retry.maxMs, this.#retry.minMs * 2 ** Math.min(this.#failures - 1, 20));
    if (this.#again) {
      this.#again = false;
      wait = 0;
    }
    this.#timer = setTimeout(() => void this.#tick(), wait);
  }
}
