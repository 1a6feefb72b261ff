// What changed in the relay's store that a person watching would want to see at once (the HQ
// dashboard's live feed): a printer's condition, a store going online or offline, a job's
// state. Told to subscribers after the change is committed, in commit order.
import type { JobState } from '../../protocol/job.js';
import type { PrinterCondition } from '../../shared/printer-state.js';

export type StoreChange =
  | { type: 'printer'; storeId: string; printerId: string; condition: PrinterCondition; at: number }
  | { type: 'presence'; storeId: string; online: boolean; at: number }
  | { type: 'job'; storeId: string; jobId: string; state: JobState; at: number; createdAt: number };

export class ChangeFeed {
  readonly #listeners = new Set<(change: StoreChange) => void>();

  /** Returns the unsubscribe function. */
  subscribe(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(change: StoreChange): void {
    for (const l of this.#listeners) l(change);
  }
}
