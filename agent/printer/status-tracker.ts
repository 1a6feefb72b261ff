// Holds one printer's PrinterStatus and publishes changes. Sensors bounce (a cover being
// closed, paper being threaded), so a field's new value is published only once it has held
// for settleMs; a value that reverts within that window is never published. Losing the
// connection is the exception: it is published at once.
import { EventEmitter } from 'node:events';
import { type PrinterStatus, unknownPrinterStatus } from '../../protocol/status.js';
import type { StatusPatch } from './status-decoder.js';

export interface StatusTrackerOptions {
  /** How long a changed field must hold before it is published (flap suppression). Default 300. */
  settleMs?: number;
  /** What drawer connector pin 3 high means for the drawer in use. Default 'open'. */
  drawerPin3HighMeans?: 'open' | 'closed';
}

export interface StatusChange {
  status: PrinterStatus;
  previous: PrinterStatus;
  changed: (keyof PrinterStatus)[];
}

/** The fields that change with the printer; updatedAt and source describe the last report. */
type Field = Exclude<keyof PrinterStatus, 'updatedAt' | 'source'>;
type FieldValues = Pick<PrinterStatus, Field>;
// Written as a Record so that a field added to PrinterStatus fails to compile here until listed.
const FIELDS = Object.keys({
  connected: true,
  online: true,
  paper: true,
  coverOpen: true,
  cutterError: true,
  mechanicalError: true,
  unrecoverableError: true,
  overheat: true,
  drawerOpen: true,
} satisfies Record<Field, true>) as Field[];

interface Pending {
  value: FieldValues[Field];
  /** Shared by the fields that changed in the same report, so they are published together. */
  timer: NodeJS.Timeout;
}

export class StatusTracker extends EventEmitter<{ change: [StatusChange] }> {
  readonly #settleMs: number;
  readonly #pin3HighMeansOpen: boolean;
  #published: PrinterStatus;
  /** What the transport and printer last said, before flap suppression. */
  readonly #reported: FieldValues;
  /** Fields whose reported value differs from the published one, waiting to settle. */
  readonly #pending = new Map<Field, Pending>();
  #disposed = false;

  constructor(opts: StatusTrackerOptions = {}) {
    super();
    const { settleMs = 300, drawerPin3HighMeans = 'open' } = opts;
    if (typeof settleMs !== 'number' || !Number.isFinite(settleMs) || settleMs < 0) {
      throw new RangeError(`settleMs must be a number of milliseconds >= 0, got ${String(settleMs)}`);
    }
    if (drawerPin3HighMeans !== 'open' && drawerPin3HighMeans !== 'closed') {
      throw new RangeError(
        `drawerPin3HighMeans must be 'open' or 'closed', got ${String(drawerPin3HighMeans)}`,
      );
    }
    this.#settleMs = settleMs;
    this.#pin3HighMeansOpen = drawerPin3HighMeans === 'open';
    this.#published = unknownPrinterStatus();
    const { source: _source, updatedAt: _updatedAt, ...fields } = this.#published;
    this.#reported = fields;
  }

  /** The last published status; updatedAt and source follow every report, even one that changed nothing. */
  get status(): PrinterStatus {
    return { ...this.#published };
  }

  apply(patch: StatusPatch, source: 'asb' | 'dle-eot' | 'port-status'): void {
    if (this.#disposed) return;
    for (const field of FIELDS) {
      const value = field === 'connected' ? undefined : patch[field];
      if (value !== undefined) (this.#reported as Record<Field, unknown>)[field] = value;
    }
    if (patch.drawerPin3High !== undefined) {
      this.#reported.drawerOpen = patch.drawerPin3High === this.#pin3HighMeansOpen;
    }
    this.#published.source = source;
    this.#published.updatedAt = new Date().toISOString();
    this.#reconcile();
  }

  /**
   * A one-way printer is connected: its status cannot be read, so nothing but the connection
   * is known, and it is never published as ready (source 'unreadable').
   */
  setUnreadable(): void {
    if (this.#disposed) return;
    this.#published.source = 'unreadable';
    this.#published.updatedAt = new Date().toISOString();
    this.setConnected(true);
  }

  setConnected(connected: boolean): void {
    if (this.#disposed) return;
    this.#reported.connected = connected;
    if (!connected) {
      // After a reconnect the printer is offline until it says otherwise.
      this.#reported.online = false;
      this.#cancel('connected');
      this.#cancel('online');
      this.#publish({ connected: false, online: false });
    }
    this.#reconcile();
  }

  dispose(): void {
    this.#disposed = true;
    for (const { timer } of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
  }

  /** What should be published once everything has settled. */
  #wanted(): FieldValues {
    return { ...this.#reported, online: this.#reported.connected && this.#reported.online };
  }

  /** Starts, restarts or cancels the settle timers after a report. */
  #reconcile(): void {
    const wanted = this.#wanted();
    const started: Field[] = [];
    for (const field of FIELDS) {
      const value = wanted[field];
      const pending = this.#pending.get(field);
      if (pending?.value === value) continue; // still settling towards this value
      if (pending) this.#cancel(field);
      if (value !== this.#published[field]) started.push(field);
    }
    if (started.length === 0) return;
    const timer = setTimeout(() => this.#settle(timer), this.#settleMs);
    timer.unref();
    for (const field of started) this.#pending.set(field, { value: wanted[field], timer });
  }

  #cancel(field: Field): void {
    const pending = this.#pending.get(field);
    if (!pending) return;
    this.#pending.delete(field);
    if (![...this.#pending.values()].some((p) => p.timer === pending.timer)) clearTimeout(pending.timer);
  }

  #settle(timer: NodeJS.Timeout): void {
    const values: Partial<FieldValues> = {};
    for (const [field, pending] of this.#pending) {
      if (pending.timer !== timer) continue;
      (values as Record<Field, unknown>)[field] = pending.value;
      this.#pending.delete(field);
    }
    this.#publish(values);
  }

  #publish(values: Partial<FieldValues>): void {
    const previous = this.#published;
    const status: PrinterStatus = { ...previous, ...values };
    const changed = FIELDS.filter((f) => status[f] !== previous[f]);
    if (changed.length === 0) return;
    status.updatedAt = new Date().toISOString();
    this.#published = status;
    this.emit('change', { status: { ...status }, previous: { ...previous }, changed });
  }
}
