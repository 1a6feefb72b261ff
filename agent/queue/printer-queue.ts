// One serialized queue per printer. The jobs wait in SQLite, not in the driver: a job is
// handed to the driver only when the printer is ready and it is that job's turn, one at a
// time, so the jobs behind it can still fail over to a backup or be cancelled.
//
// Starting a job persists `printing` before its first byte (a crash from then on makes it
// uncertain, never printed twice by itself). Each copy is its own driver job, confirmed by
// the printer; copiesPrinted is persisted after each confirmation. Starting shares its commit
// with what precedes it where it can (the job's receipt, the previous job's confirmation), as
// each commit waits for an fsync and the printer waits for the commit.

import { renderLayout, renderTicket } from '../../escpos/encoder.js';
import { layoutTicket } from '../../escpos/layout.js';
import type { PrinterProfile } from '../../protocol/profile.js';
import { markRawAsReprint, markTicketAsReprint } from '../../protocol/reprint.js';
import type { Log } from '../../shared/log.js';
import { estimatePaperMm } from '../health.js';
import { SENT_UNCONFIRMED } from '../printer/print-job.js';
import type { Printer } from '../printer/printer.js';
import type { AgentStore, JobRecord } from '../store/agent-store.js';
import { markTicketForBackup, type NamedPrinter } from './backup-mark.js';

export interface PrinterQueueOptions {
  printerId: string;
  /** Shown to people (agent config); the backup mark names the printer by it. */
  printerName?: string | undefined;
  /** The printer a job's printer ref means before failover: a job printed here for another gets a mark. */
  intendedPrinter?: (ref: string) => NamedPrinter | undefined;
  printer: Printer;
  profile: PrinterProfile;
  store: AgentStore;
  log: Log;
  /** The store changed (events may have been queued): send them, refresh timers. */
  changed(): void;
  /** A person paused printing: no job starts (the one under way finishes). */
  paused(): boolean;
}

/** What 'printed' means for a one-way printer, in the job's detail and timeline. */
export const UNCONFIRMED_CAVEAT = 'sent to a printer that cannot confirm printing';

/** Why the driver gave up on a copy, in words for the job's detail. */
function describeReason(reason: string | undefined): string {
  switch (reason) {
    case 'connection-lost':
      return 'the connection to the printer was lost';
    case 'confirm-timeout':
      return 'the printer did not confirm it in time';
    case 'printer-closed':
      return 'the printer was closed';
    default:
      return reason ?? 'the printer stopped';
  }
}

/** A job's bytes for one copy, the paper it takes, and what prints differently from what it asked. */
interface Rendered {
  bytes: Uint8Array;
  paperMm: number;
  warnings: string[];
}

/** A job whose `printing` is committed, with its bytes: it goes to the printer next. */
interface Started {
  job: JobRecord;
  bytes: Uint8Array;
  paperMm: number;
}

export class PrinterQueue {
  readonly #o: PrinterQueueOptions;
  #stopping = false;
  #woken = false;
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  /** Started by startIfIdle in the caller's transaction, committed; the loop prints it when it wakes. */
  #handedOver: Started | null = null;

  constructor(opts: PrinterQueueOptions) {
    this.#o = opts;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Something changed (a job, the printer's status): look at the queue again. */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /** No new job starts after this; resolves once the job under way settled (close the printer to hurry it). */
  stopping(): void {
    this.#stopping = true;
    this.wake();
  }

  async stopped(): Promise<void> {
    this.stopping();
    await this.#loop;
  }

  /**
   * When the queue is idle and the printer ready: starts the next job inside the caller's
   * transaction (the agent's receipt of a job), so that one commit serves both and the first
   * byte waits for one fsync, not two. Returns what to call once that transaction committed
   * (it hands the job to the printer); undefined when the queue is busy or the printer not ready.
   */
  startIfIdle(): (() => void) | undefined {
    if (this.#wake === null || this.#handedOver !== null) return undefined;
    const started = this.#takeNext();
    if (!started) return undefined;
    return () => {
      this.#handedOver = started;
      this.wake();
    };
  }

  async #run(): Promise<void> {
    const { store } = this.#o;
    let next: Started | null = null;
    for (;;) {
      // A started job is printed even when stopping: its copy fails as never sent and is requeued.
      next ??= this.#handedOver;
      this.#handedOver = null;
      if (next === null) {
        if (this.#stopping) break;
        next = store.transaction(() => this.#takeNext());
      }
      if (next === null) {
        this.#o.changed();
        await this.#sleep();
        continue;
      }
      const job: Started = next;
      next = null;
      try {
        next = await this.#print(job);
      } catch (err) {
        this.#failOnBug(job.job.jobId, err);
        if (this.#stopping) break;
        this.#o.changed();
      }
    }
  }

  /**
   * A bug must not stop the queue, nor leave the job where it would be picked again: it
   * fails (when the agent is stopping it is left as it is, and the next start settles it).
   */
  #failOnBug(jobId: string, err: unknown): void {
    const { log, printerId, store } = this.#o;
    log.error(`printer ${printerId}: job ${jobId}: ${err instanceof Error ? err.stack : String(err)}`);
    if (this.#stopping) return;
    store.finish(jobId, 'failed', `agent error: ${err instanceof Error ? err.message : String(err)}`);
  }

  #sleep(): Promise<void> {
    if (this.#woken || this.#stopping) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = null;
        this.#woken = false;
        resolve();
      };
    });
  }

  /**
   * The oldest queued job, rendered and marked `printing` (persisted before its first byte: a
   * crash from then on makes it uncertain). Call inside a store transaction. A job that cannot
   * be started fails and the next one is tried, so that what the caller committed with it (a
   * job's receipt, the last copy's confirmation) stands. Null when there is none, the printer
   * is not ready, printing is paused or the queue is stopping.
   */
  #takeNext(): Started | null {
    const { store, printer, printerId, paused } = this.#o;
    while (!this.#stopping && !paused() && printer.notReadyReasons.length === 0) {
      const queued = store.nextQueued(printerId);
      if (!queued) return null;
      let rendered: Rendered;
      try {
        rendered = this.#render(queued);
      } catch (err) {
        store.finish(
          queued.jobId,
          'failed',
          `cannot print this ticket on ${printerId}: ${(err as Error).message}`,
        );
        continue;
      }
      let job: JobRecord | null;
      try {
        // Null when its expiry passed meanwhile (it is expired or held now).
        job = store.startJob(queued.jobId, printerId, rendered.warnings);
      } catch (err) {
        this.#failOnBug(queued.jobId, err);
        continue;
      }
      if (job) return { job, bytes: rendered.bytes, paperMm: rendered.paperMm };
    }
    return null;
  }

  /**
   * The bytes of one copy (the driver appends the confirmation request), the paper it takes,
   * and the renderer's warnings (they go into the job's timeline).
   */
  #render(job: JobRecord): Rendered {
    const { profile, log, printerId } = this.#o;
    let { ticket, raw } = job.message;
    if (job.reprintMark > 0) {
      if (ticket) ticket = markTicketAsReprint(ticket, job.reprintMark);
      else if (raw !== undefined) raw = markRawAsReprint(raw, job.reprintMark);
    }
    const intended = this.#o.intendedPrinter?.(job.printerRef);
    const backup = intended && intended.id !== printerId ? intended : undefined;
    const here = { id: printerId, name: this.#o.printerName };
    if (!ticket) {
      let bytes: Uint8Array = Buffer.from(raw ?? '', 'base64');
      if (backup) {
        // Raw bytes cannot take a block: the mark goes before them as a ticket of its own.
        const mark = renderTicket(
          markTicketForBackup({ version: 1, blocks: [] }, job.printerRef, backup, here),
          profile,
          {
            confirmToken: false,
          },
        );
        bytes = Buffer.concat([mark.bytes, bytes]);
      }
      return { bytes, paperMm: estimatePaperMm({ raw: raw ?? '' }), warnings: [] };
    }
    if (backup) ticket = markTicketForBackup(ticket, job.printerRef, backup, here);
    // Laid out once for both the bytes and the paper estimate.
    const layout = layoutTicket(ticket, profile);
    const { bytes, warnings } = renderLayout(layout, profile, { confirmToken: false });
    for (const w of warnings) log.warn(`printer ${printerId}: job ${job.jobId}: ${w}`);
    return { bytes, paperMm: estimatePaperMm({ layout }), warnings };
  }

  /**
   * Prints the copies of a started job. The last copy's confirmation and the start of the next
   * job are one commit, so the printer waits for one fsync between jobs; returns that next job.
   */
  async #print({ job, bytes, paperMm }: Started): Promise<Started | null> {
    const { store, printer, changed } = this.#o;
    const { jobId } = job;
    for (let copy = job.copiesPrinted + 1; copy <= job.copies; copy++) {
      const which = `copy ${copy} of ${job.copies}`;
      const printing = printer.print(bytes, { id: `${jobId}#${copy}` });
      // The relay hears of `printing` while the first bytes are on their way.
      changed();
      printing.on('state', (u) => {
        // 'queued' with a reason: this copy waits for the printer (an earlier copy may be out).
        const reasons =
          u.state === 'waiting' || (u.state === 'queued' && u.reason) ? (u.reason ?? null) : null;
        if (u.state !== 'sending' && reasons === null) return;
        try {
          store.setWaiting(jobId, reasons);
          changed();
        } catch (err) {
          // Only what the local API shows: the print itself goes on.
          this.#o.log.warn(
            `job ${jobId}: could not record ${reasons ?? 'printing'}: ${(err as Error).message}`,
          );
        }
      });
      const result = await printing.done;
      if (result.state === 'printed') {
        const caveat = result.reason === SENT_UNCONFIRMED ? UNCONFIRMED_CAVEAT : undefined;
        if (copy < job.copies) {
          store.copyPrinted(jobId, paperMm, caveat);
          continue;
        }
        return store.transaction(() => {
          store.copyPrinted(jobId, paperMm, caveat);
          return this.#takeNext();
        });
      }
      if (this.#stopping && result.state === 'failed') {
        // This copy never left the agent: it prints when the agent runs again.
        store.requeue(jobId, `the agent stopped before ${which} was sent`);
        return null;
      }
      if (this.#stopping && result.reason === 'printer-closed') {
        // Stopped mid-copy: left `printing`, so the next start reports it uncertain like a crash would.
        return null;
      }
      // Anything else the driver says is final means it may have printed: uncertain.
      const failed = result.state === 'failed';
      const detail = failed
        ? `${describeReason(result.reason)} before ${which} was sent`
        : `${describeReason(result.reason)} while printing ${which}; it may or may not have printed`;
      store.finish(jobId, failed ? 'failed' : 'uncertain', detail);
      return null;
    }
    return null;
  }
}
