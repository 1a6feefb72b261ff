// Agent events the relay ignores: events about a job that is not the store's (an unknown id
// or another store's job) and events that are not valid. Applying one changes nothing, so
// none is stored for de-duplication or logged one by one: they are counted per store and
// logged as one summary line per interval. A store that sends more than `limit` of them in a
// window has its further event batches dropped, unacknowledged and unread, until the window
// ends: its agent sends them again later, and meanwhile they cost the relay nothing.
import type { Log } from '../shared/log.js';
import { FailureLimiter, type FailureWindow } from './failure-limiter.js';

export type IgnoredReason = 'not its job' | 'invalid';

export interface IgnoredEventOptions {
  /** Ignored events a store may send per window before its batches are dropped. */
  limit: FailureWindow;
  /** How often the summary is logged (only when something was ignored). */
  summaryMs: number;
  /** Stores tracked at most (limiter and summary each). */
  maxStores: number;
}

export const defaultIgnoredEvents: IgnoredEventOptions = {
  limit: { maxFailures: 1000, windowMs: 60_000 },
  summaryMs: 60_000,
  maxStores: 10_000,
};

interface StoreCounts {
  reasons: Map<IgnoredReason, number>;
  example: string;
  droppedBatches: number;
}

export class IgnoredEvents {
  readonly #limiter: FailureLimiter;
  #counts = new Map<string, StoreCounts>();
  #since = Date.now();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly opts: IgnoredEventOptions,
    private readonly log: Log,
  ) {
    this.#limiter = new FailureLimiter(opts.limit, opts.maxStores);
    this.#timer = setInterval(() => this.flush(), opts.summaryMs);
    this.#timer.unref();
  }

  #of(storeId: string): StoreCounts | null {
    let c = this.#counts.get(storeId);
    if (!c) {
      if (this.#counts.size >= this.opts.maxStores) return null;
      c = { reasons: new Map(), example: '', droppedBatches: 0 };
      this.#counts.set(storeId, c);
    }
    return c;
  }

  /** Whether the store's event batches are dropped now; a dropped batch is counted. */
  throttled(storeId: string): boolean {
    if (this.#limiter.blockedFor(storeId) === 0) return false;
    const c = this.#of(storeId);
    if (c) c.droppedBatches++;
    return true;
  }

  /** An event of the store that was ignored; `example` says which (a job id, an error). */
  note(storeId: string, reason: IgnoredReason, example: string): void {
    this.#limiter.fail(storeId);
    const c = this.#of(storeId);
    if (!c) return;
    c.reasons.set(reason, (c.reasons.get(reason) ?? 0) + 1);
    c.example ||= example;
  }

  /** Logs one line per store that had events ignored since the last summary. */
  flush(): void {
    const seconds = Math.round((Date.now() - this.#since) / 1000);
    for (const [storeId, c] of this.#counts) {
      const reasons = [...c.reasons].map(([r, n]) => `${n} ${r}`).join(', ');
      const dropped = c.droppedBatches > 0 ? `; dropped ${c.droppedBatches} batch(es) unread: too many` : '';
      this.log.warn(
        `store ${storeId}: ignored events in the last ${seconds} s: ${reasons || 'none'} (first: ${c.example || '-'})${dropped}`,
      );
    }
    this.#counts = new Map();
    this.#since = Date.now();
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}
