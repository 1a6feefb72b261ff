// One serialized queue per printer. The jobs wait in SQLite, not in the driver: a job is
// handed to the driver only when the printer is ready and it is that job's turn, one at a
// time, so the jobs behind it can still fail over to a backup or be cancelled.
//
// Starting a job persists `printing` before its first byte (a crash from then on makes it
// uncertain, never printed twice by itself). Each copy is its own driver job, confirmed by
// the printer; copiesPrinted is persisted after each confirmation.

import type { PrinterProfile } from '../../protocol/profile.js';
import { markRawAsReprint, markTicketAsReprint } from '../../protocol/reprint.js';
import type { Log } from '../../shared/log.js';
import { renderTicket } from '../escpos/encoder.js';
import { estimatePaperMm } from '../health.js';
import type { Printer } from '../printer/printer.js';
import type { AgentStore, JobRecord } from '../store/agent-store.js';

export interface PrinterQueueOptions {
  printerId: string;
  printer: Printer;
  profile: PrinterProfile;
  store: AgentStore;
  log: Log;
  /** The store changed (events may have been queued): send them, refresh timers. */
  changed(): void;
}

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

export class PrinterQueue {
  readonly #o: PrinterQueueOptions;
  #stopping = false;
  #woken = false;
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;

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

  async #run(): Promise<void> {
    const { store, printer, printerId, log } = this.#o;
    while (!this.#stopping) {
      const job = store.nextQueued(printerId);
      if (!job || printer.notReadyReasons.length > 0) {
        await this.#sleep();
        continue;
      }
      try {
        await this.#print(job);
      } catch (err) {
        // A bug must not stop the queue, nor leave the job where it would be picked again.
        log.error(
          `printer ${printerId}: job ${job.jobId}: ${err instanceof Error ? err.stack : String(err)}`,
        );
        if (this.#stopping) break;
        store.finish(job.jobId, 'failed', `agent error: ${err instanceof Error ? err.message : String(err)}`);
        this.#o.changed();
      }
    }
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

  /** The bytes of one copy (the driver appends the confirmation request) and the paper it takes. */
  #render(job: JobRecord): { bytes: Uint8Array; paperMm: number } {
    const { profile, log, printerId } = this.#o;
    let { ticket, raw } = job.message;
    if (job.reprintMark > 0) {
      if (ticket) ticket = markTicketAsReprint(ticket, job.reprintMark);
      else if (raw !== undefined) raw = markRawAsReprint(raw, job.reprintMark);
    }
    const paperMm = estimatePaperMm(ticket ? { ticket } : { raw: raw ?? '' }, profile);
    if (!ticket) return { bytes: Buffer.from(raw ?? '', 'base64'), paperMm };
    const { bytes, warnings } = renderTicket(ticket, profile, { confirmToken: false });
    for (const w of warnings) log.warn(`printer ${printerId}: job ${job.jobId}: ${w}`);
    return { bytes, paperMm };
  }

  async #print(queued: JobRecord): Promise<void> {
    const { store, printer, printerId, changed } = this.#o;
    const { jobId } = queued;
    let rendered: { bytes: Uint8Array; paperMm: number };
    try {
      rendered = this.#render(queued);
    } catch (err) {
      store.finish(jobId, 'failed', `cannot print this ticket on ${printerId}: ${(err as Error).message}`);
      changed();
      return;
    }
    const job = store.startJob(jobId, printerId);
    changed();
    if (!job) return;
    for (let copy = job.copiesPrinted + 1; copy <= job.copies; copy++) {
      const which = `copy ${copy} of ${job.copies}`;
      const printing = printer.print(rendered.bytes, { id: `${jobId}#${copy}` });
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
        store.copyPrinted(jobId, rendered.paperMm);
        changed();
        continue;
      }
      if (this.#stopping && result.state === 'failed') {
        // This copy never left the agent: it prints when the agent runs again.
        store.requeue(jobId, `the agent stopped before ${which} was sent`);
        return;
      }
      if (this.#stopping && result.reason === 'printer-closed') {
        // Stopped mid-copy: left `printing`, so the next start reports it uncertain like a crash would.
        return;
      }
      // Anything else the driver says is final means it may have printed: uncertain.
      const failed = result.state === 'failed';
      const detail = failed
        ? `${describeReason(result.reason)} before ${which} was sent`
        : `${describeReason(result.reason)} while printing ${which}; it may or may not have printed`;
      store.finish(jobId, failed ? 'failed' : 'uncertain', detail);
      changed();
      return;
    }
  }
}
