// "Too many failures in a window": a key (a client address, a username, a store) that fails
// more than maxFailures times in a fixed window is refused until that window ends. Used for
// MQTT logins (./broker/auth-throttle.ts) and for stores that report on jobs they do not
// have (./foreign-events.ts). Memory is bounded: past maxKeys, the least recently seen key
// is forgotten.

export interface FailureWindow {
  /** Failures allowed per window; the next attempt waits for the window's end. */
  maxFailures: number;
  windowMs: number;
}

interface Entry {
  since: number;
  failures: number;
}

/** Counts failures per key in fixed windows, in a bounded map kept in least-recently-used order. */
export class FailureLimiter {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly limit: FailureWindow,
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
  ) {}

  #entry(key: string): Entry | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    this.#entries.delete(key);
    if (this.now() - e.since >= this.limit.windowMs) return undefined;
    this.#entries.set(key, e);
    return e;
  }

  /** Milliseconds until `key` may try again; 0: now. */
  blockedFor(key: string): number {
    const e = this.#entry(key);
    if (!e || e.failures < this.limit.maxFailures) return 0;
    return e.since + this.limit.windowMs - this.now();
  }

  fail(key: string): void {
    const e = this.#entry(key);
    if (e) {
      e.failures++;
      return;
    }
    if (this.#entries.size >= this.maxKeys) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(key, { since: this.now(), failures: 1 });
  }

  get size(): number {
    return this.#entries.size;
  }
}
