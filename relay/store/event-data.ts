// The `data` of the events the relay records for webhooks. Shared by every JobStore
// implementation so that a webhook receiver sees one format.
import type { JobState } from '../../protocol/job.js';
import { notReadyReasons, type PrinterStatus } from '../../protocol/status.js';
import type { JobStateEventData, PrinterStatusEventData } from '../../protocol/webhooks.js';
import type { JobRecord } from './job-store.js';

export function jobStateEventData(
  job: JobRecord,
  from: JobState,
  at: number,
  detail: string | null,
): JobStateEventData {
  return {
    jobId: job.id,
    storeId: job.storeId,
    state: job.state,
    previousState: from,
    at: new Date(at).toISOString(),
    detail,
    printer: job.printer,
    printerId: job.printerId,
    orderRef: job.orderRef,
    reprintOf: job.reprintOf,
  };
}

export function printerStatusEventData(
  storeId: string,
  printerId: string,
  status: PrinterStatus,
): PrinterStatusEventData {
  const reasons = notReadyReasons(status);
  return { storeId, printerId, ready: reasons.length === 0, reasons, status };
}

export function storePresenceEventData(
  storeId: string,
  online: boolean,
  at: number,
  agentVersion: string | null,
) {
  return { storeId, online, at: new Date(at).toISOString(), agentVersion };
}

/** Whether two statuses differ in anything a person would notice (not just the timestamp). */
export function printerStatusChanged(before: PrinterStatus | null, after: PrinterStatus): boolean {
  if (!before) return true;
  // Where a status came from does not matter, except whether it can be read at all.
  const { updatedAt: _a, source: _b, ...x } = { ...before, unreadable: before.source === 'unreadable' };
  const { updatedAt: _c, source: _d, ...y } = { ...after, unreadable: after.source === 'unreadable' };
  return JSON.stringify(x, Object.keys(x).sort()) !== JSON.stringify(y, Object.keys(y).sort());
}
