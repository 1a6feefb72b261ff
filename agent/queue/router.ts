// Which printer takes a job: the `printer` ref of a job names a printer id or a role (the
// first configured printer with the role is its primary), and failover sends the jobs of a
// printer that has been out for failover.afterSeconds to its backup, while the backup is ready.
import type { Route } from '../store/agent-store.js';

export interface RoutedPrinter {
  id: string;
  /** Shown to people, e.g. "后厨 Kitchen". */
  name?: string | undefined;
  roles: readonly string[];
  backup?: string;
}

export interface RouterOptions {
  printers: readonly RoutedPrinter[];
  failover: { enabled: boolean; afterSeconds: number };
  /** Why a printer cannot print now; empty when it is ready. */
  notReadyReasons: (printerId: string) => string[];
  now?: () => number;
}

export interface Takeover {
  from: string;
  to: string;
  /** Why, for the job's detail. */
  reason: string;
}

export class Router {
  readonly #printers: Map<string, RoutedPrinter>;
  readonly #opts: RouterOptions;
  readonly #now: () => number;
  /** Printers not ready, since when (ms). Every printer starts out: it has not connected yet. */
  readonly #outSince = new Map<string, number>();

  constructor(opts: RouterOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#printers = new Map(opts.printers.map((p) => [p.id, p]));
    for (const p of opts.printers) this.update(p.id);
  }

  /** Call on every status change of the printer. */
  update(printerId: string): void {
    if (this.#opts.notReadyReasons(printerId).length === 0) this.#outSince.delete(printerId);
    else if (!this.#outSince.has(printerId)) this.#outSince.set(printerId, this.#now());
  }

  /** The printer a job naming `ref` is meant for, before failover. */
  primary(ref: string): RoutedPrinter | undefined {
    return this.#printers.get(ref) ?? this.#opts.printers.find((p) => p.roles.includes(ref));
  }

  /** The printer a new job goes to, with failover applied; or why there is none. */
  resolve(ref: string): Route {
    const printer = this.primary(ref);
    if (!printer) return { failed: `no printer with id or role ${ref}` };
    const takeover = this.takeover(printer.id);
    if (!takeover) return { printerId: printer.id };
    return { printerId: takeover.to, detail: `sent to backup printer ${takeover.to}: ${takeover.reason}` };
  }

  /** The backup that takes this printer's jobs now, if any. */
  takeover(printerId: string): Takeover | null {
    const backup = this.#printers.get(printerId)?.backup;
    const since = this.#outSince.get(printerId);
    if (!this.#opts.failover.enabled || backup === undefined || since === undefined) return null;
    const outMs = this.#now() - since;
    if (outMs < this.#opts.failover.afterSeconds * 1000) return null;
    if (this.#opts.notReadyReasons(backup).length > 0) return null;
    const reasons = this.#opts.notReadyReasons(printerId).join(', ');
    return {
      from: printerId,
      to: backup,
      reason: `printer ${printerId} not ready (${reasons}) for ${Math.round(outMs / 1000)} s`,
    };
  }

  /** Every takeover in force now. */
  takeovers(): Takeover[] {
    return [...this.#printers.keys()].flatMap((id) => this.takeover(id) ?? []);
  }

  /** When the next out printer with a backup reaches afterSeconds (ms), for a timer; null if none. */
  nextDeadline(): number | null {
    if (!this.#opts.failover.enabled) return null;
    const now = this.#now();
    const afterMs = this.#opts.failover.afterSeconds * 1000;
    let next: number | null = null;
    for (const [id, since] of this.#outSince) {
      const at = since + afterMs;
      if (this.#printers.get(id)?.backup === undefined || at <= now) continue;
      next = next === null ? at : Math.min(next, at);
    }
    return next;
  }
}
