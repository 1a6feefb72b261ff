// The ledger check at the end of a chaos run: for every job that got its 201, what the relay
// says became of it against what came out on paper.
//
//   printed              -> exactly `copies` plain prints, no REPRINT-marked one
//   expired, cancelled   -> nothing on paper
//   failed               -> nothing on paper, and a reason
//   uncertain            -> at most `copies` plain prints (it may or may not have printed),
//                           anything more only with the REPRINT mark, and a reason
//   anything else        -> lost: not final after the drain
//
// Prints of a marker no accepted order has are ghosts. Every breach is a violation.
import type { JobState, JobView, TimelineEntry } from '../protocol/job.js';
import type { FaultRecord } from './faults.js';
import type { Order } from './orders.js';
import type { PaperPrint } from './paper.js';

export type ViolationKind =
  | 'lost' // not final at the relay after the drain, or unknown to it
  | 'silent-duplicate' // more plain prints than the job may have
  | 'missing-print' // printed at the relay, fewer copies on paper
  | 'printed-but-final-without' // expired / cancelled / failed, yet on paper
  | 'unexpected-reprint' // a REPRINT-marked print of a job that was not uncertain
  | 'no-reason' // failed or uncertain without saying why
  | 'ghost'; // on paper, but no accepted order has this marker

export interface Violation {
  kind: ViolationKind;
  message: string;
  marker: string;
  jobId: string | null;
  storeId: string | null;
  state: JobState | null;
  copies: number | null;
  plainPrints: number;
  reprintMarkedPrints: number;
  order: Order | null;
  timeline: TimelineEntry[];
  /** Paper prints, `at` as ms from the start of the chaos phase. */
  paper: (Omit<PaperPrint, 'at'> & { atMs: number })[];
  /** Faults on the job's relay, store or printers while it was open. */
  faults: FaultRecord[];
}

export interface LedgerInput {
  orders: readonly Order[];
  /** The relay's view of each accepted job, by job id (missing: the relay does not know it). */
  views: ReadonlyMap<string, JobView>;
  prints: (marker: string) => readonly PaperPrint[];
  /** Every marker seen on paper. */
  markersOnPaper: Iterable<string>;
  faults: readonly FaultRecord[];
  /** Date.now() at the start of the chaos phase. */
  t0: number;
}

export interface LedgerResult {
  /** Accepted jobs by their final (or last) state at the relay; 'unknown' when the relay lost it. */
  states: Partial<Record<JobState | 'unknown', number>>;
  /** How many jobs ended other than printed for each reason ("state: detail", numbers and ids blanked). */
  reasons: Record<string, number>;
  plainPrints: number;
  reprintMarkedPrints: number;
  violations: Violation[];
}

export function checkLedger(input: LedgerInput): LedgerResult {
  const { t0 } = input;
  const states: LedgerResult['states'] = {};
  const reasons: Record<string, number> = {};
  const violations: Violation[] = [];
  let plainPrints = 0;
  let reprintMarkedPrints = 0;
  const accepted = new Set<string>();

  for (const order of input.orders) {
    if (order.jobId === null) continue;
    accepted.add(order.marker);
    const view = input.views.get(order.jobId) ?? null;
    const paper = input.prints(order.marker);
    const plain = paper.filter((p) => !p.reprintMarked).length;
    const marked = paper.length - plain;
    plainPrints += plain;
    reprintMarkedPrints += marked;
    const state = view?.state ?? null;
    states[state ?? 'unknown'] = (states[state ?? 'unknown'] ?? 0) + 1;
    if (view && state !== 'printed') {
      const detail = view.timeline[view.timeline.length - 1]?.detail ?? 'no reason given';
      const reason = `${state}: ${detail.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>').replace(/\d+/g, 'N')}`;
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }

    const breach = judge(order.copies, view, plain, marked);
    if (!breach) continue;
    const last = view?.timeline[view.timeline.length - 1];
    // Until its last word at the relay or on paper, whichever came later.
    const closedAt = Math.max(last ? Date.parse(last.at) : Date.now(), ...paper.map((p) => p.at));
    violations.push({
      ...breach,
      marker: order.marker,
      jobId: order.jobId,
      storeId: order.storeId,
      state,
      copies: order.copies,
      plainPrints: plain,
      reprintMarkedPrints: marked,
      order,
      timeline: view?.timeline ?? [],
      paper: paper.map(({ at, ...p }) => ({ ...p, atMs: at - t0 })),
      faults: faultsAround(input.faults, order, t0, closedAt),
    });
  }

  for (const marker of input.markersOnPaper) {
    if (accepted.has(marker)) continue;
    const paper = input.prints(marker);
    const order = input.orders.find((o) => o.marker === marker) ?? null;
    violations.push({
      kind: 'ghost',
      message: `${paper.length} print(s) of an order that never got a 201${order?.refused ? ` (${order.refused})` : ''}`,
      marker,
      jobId: null,
      storeId: order?.storeId ?? null,
      state: null,
      copies: order?.copies ?? null,
      plainPrints: paper.filter((p) => !p.reprintMarked).length,
      reprintMarkedPrints: paper.filter((p) => p.reprintMarked).length,
      order,
      timeline: [],
      paper: paper.map(({ at, ...p }) => ({ ...p, atMs: at - t0 })),
      faults: [],
    });
  }
  return { states, reasons, plainPrints, reprintMarkedPrints, violations };
}

function judge(
  copies: number,
  view: JobView | null,
  plain: number,
  marked: number,
): { kind: ViolationKind; message: string } | null {
  if (!view) return { kind: 'lost', message: 'the relay does not show this job, yet it answered 201' };
  const { state } = view;
  const reason = view.timeline[view.timeline.length - 1]?.detail;
  switch (state) {
    case 'printed':
      if (plain > copies)
        return { kind: 'silent-duplicate', message: `printed ${plain} times for ${copies} copies` };
      if (plain < copies)
        return {
          kind: 'missing-print',
          message: `printed at the relay, ${plain} of ${copies} copies on paper`,
        };
      if (marked > 0)
        return { kind: 'unexpected-reprint', message: `${marked} REPRINT-marked print(s) of a printed job` };
      return null;
    case 'expired':
    case 'cancelled':
    case 'failed':
      if (plain + marked > 0)
        return {
          kind: 'printed-but-final-without',
          message: `${state}, yet ${plain} plain and ${marked} REPRINT-marked print(s) on paper`,
        };
      if (state === 'failed' && !reason) return { kind: 'no-reason', message: 'failed without a reason' };
      return null;
    case 'uncertain':
      if (plain > copies)
        return {
          kind: 'silent-duplicate',
          message: `uncertain, yet ${plain} plain prints for ${copies} copies (a reprint must be marked)`,
        };
      if (marked > copies)
        return {
          kind: 'unexpected-reprint',
          message: `${marked} REPRINT-marked prints for ${copies} copies`,
        };
      if (!reason) return { kind: 'no-reason', message: 'uncertain without a reason' };
      return null;
    default:
      return { kind: 'lost', message: `still ${state} after the drain` };
  }
}

/** The faults that could have touched this order: on its relay, its store's agent or link, its printers. */
function faultsAround(
  faults: readonly FaultRecord[],
  order: Order,
  t0: number,
  closedAt: number,
): FaultRecord[] {
  const from = order.placedAt - t0;
  const to = closedAt - t0;
  return faults.filter(
    (f) =>
      f.startedMs !== null &&
      f.startedMs <= to &&
      (f.endedMs ?? Number.POSITIVE_INFINITY) >= from &&
      (f.target === 'relay' || f.target === order.storeId || f.target.startsWith(`${order.storeId}/`)),
  );
}
