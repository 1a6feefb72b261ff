// One print job as the driver sees it: its state, published as 'state' events and settled
// once in `done`. States:
//   queued     nothing sent yet (its turn has not come, or the printer is not ready: see reason)
//   sending    bytes are going to the printer, or it is printing them and the confirmation is awaited
//   waiting    started, but the printer stopped (reason: paper-out, cover-open, ...); resumes by itself
//   printed    the printer confirmed that everything was printed; or, with reason
//              SENT_UNCONFIRMED, everything was sent to a one-way printer that cannot confirm
//   uncertain  it may or may not have printed (connection lost mid-job, no confirmation in time)
//   failed     it was never sent (the printer was closed first)
import { EventEmitter } from 'node:events';

export type PrintJobState = 'queued' | 'sending' | 'waiting' | 'printed' | 'uncertain' | 'failed';

export interface PrintJobUpdate {
  state: PrintJobState;
  reason?: string;
  at: Date;
}

const FINAL: ReadonlySet<PrintJobState> = new Set(['printed', 'uncertain', 'failed']);

/** The reason of a 'printed' job whose printer cannot confirm printing: it was sent, that is all. */
export const SENT_UNCONFIRMED = 'sent-unconfirmed';

/** Only the driver moves a job on; the symbol keeps that method out of the public surface. */
export const SET_STATE = Symbol('setState');

export class PrintJob extends EventEmitter<{ state: [PrintJobUpdate] }> {
  readonly id: string;
  readonly done: Promise<PrintJobUpdate>;
  #update: PrintJobUpdate = { state: 'queued', at: new Date() };
  readonly #settle: (u: PrintJobUpdate) => void;

  constructor(id: string) {
    super();
    this.id = id;
    let settle!: (u: PrintJobUpdate) => void;
    this.done = new Promise((resolve) => {
      settle = resolve;
    });
    this.#settle = settle;
  }

  get state(): PrintJobState {
    return this.#update.state;
  }

  /** Why it is queued, waiting, uncertain or failed, when known. */
  get reason(): string | undefined {
    return this.#update.reason;
  }

  get isFinal(): boolean {
    return FINAL.has(this.#update.state);
  }

  /** Publishes a new state; repeats and anything after a final state are ignored. */
  [SET_STATE](state: PrintJobState, reason?: string): void {
    if (this.isFinal) return;
    if (state === this.#update.state && reason === this.#update.reason) return;
    const update: PrintJobUpdate =
      reason === undefined ? { state, at: new Date() } : { state, reason, at: new Date() };
    this.#update = update;
    this.emit('state', update);
    if (FINAL.has(state)) this.#settle(update);
  }
}
