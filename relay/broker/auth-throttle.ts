// Failed MQTT logins, throttled and summarised. Each client address and each username may
// fail a few times per window; past that, its CONNECTs are refused without checking them
// until the window ends. Refusals are counted and logged as one summary line per interval,
// not one or two lines per attempt, so a password-guessing loop fills neither the CPU nor
// the log.
//
// Agent passwords carry 256 random bits: the limit is not what keeps them from being
// guessed, it bounds what trying costs the relay. Memory is bounded: the least recently
// seen keys are dropped past `maxKeys`.
import type { Log } from '../../shared/log.js';
import { FailureLimiter, type FailureWindow } from '../failure-limiter.js';

export interface AuthThrottleOptions {
  perAddress: FailureWindow;
  perUsername: FailureWindow;
  /** How often the summary of refused logins is logged (only when there were some). */
  summaryMs: number;
  /** Keys each limiter keeps at most. */
  maxKeys: number;
}

export const defaultAuthThrottle: AuthThrottleOptions = {
  perAddress: { maxFailures: 10, windowMs: 60_000 },
  perUsername: { maxFailures: 20, windowMs: 60_000 },
  summaryMs: 60_000,
  maxKeys: 10_000,
};

/** Counts kept for the summary: reasons, and the addresses and usernames most refused. */
class RefusalSummary {
  readonly reasons = new Map<string, number>();
  readonly addresses = new Map<string, number>();
  readonly usernames = new Map<string, number>();

  constructor(private readonly maxKeys: number) {}

  add(reason: string, address: string, username: string): void {
    for (const [map, key] of [
      [this.reasons, reason],
      [this.addresses, address],
      [this.usernames, username],
    ] as const) {
      if (map.has(key) || map.size < this.maxKeys) map.set(key, (map.get(key) ?? 0) + 1);
    }
  }

  get total(): number {
    let n = 0;
    for (const v of this.reasons.values()) n += v;
    return n;
  }

  text(intervalMs: number): string {
    const top = (m: Map<string, number>) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([k, v]) => `${JSON.stringify(k)} ${v}`)
        .join(', ');
    const reasons = [...this.reasons].map(([k, v]) => `${k} ${v}`).join(', ');
    return (
      `mqtt: refused ${this.total} login(s) in the last ${Math.round(intervalMs / 1000)} s (${reasons}); ` +
      `most from ${top(this.addresses)}; usernames ${top(this.usernames)}`
    );
  }
}

export class AuthThrottle {
  readonly #byAddress: FailureLimiter;
  readonly #byUsername: FailureLimiter;
  #summary: RefusalSummary;
  #since: number;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly opts: AuthThrottleOptions,
    private readonly log: Log,
  ) {
    this.#byAddress = new FailureLimiter(opts.perAddress, opts.maxKeys);
    this.#byUsername = new FailureLimiter(opts.perUsername, opts.maxKeys);
    this.#summary = new RefusalSummary(opts.maxKeys);
    this.#since = Date.now();
    this.#timer = setInterval(() => this.flush(), opts.summaryMs);
    this.#timer.unref();
  }

  /**
   * Milliseconds until this address and username may try to log in; 0: now. A login that
   * must wait is counted as refused ('throttled').
   */
  check(address: string, username: string | undefined): number {
    const wait = Math.max(
      this.#byAddress.blockedFor(address),
      username === undefined ? 0 : this.#byUsername.blockedFor(username),
    );
    if (wait > 0) this.#summary.add('throttled', address, username ?? '');
    return wait;
  }

  /** A login that was checked and refused. */
  failed(address: string, username: string | undefined, reason: string): void {
    this.#byAddress.fail(address);
    if (username !== undefined) this.#byUsername.fail(username);
    this.#summary.add(reason, address, username ?? '');
  }

  /** Logs what was refused since the last summary, if anything. */
  flush(): void {
    if (this.#summary.total > 0) this.log.warn(this.#summary.text(Date.now() - this.#since));
    this.#summary = new RefusalSummary(this.opts.maxKeys);
    this.#since = Date.now();
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}
