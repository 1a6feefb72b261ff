// Orders: one order becomes one job per kitchen station with that station's items, and the
// receipt, each laid out by its template and sent through the job path with everything jobs
// already guarantee (committed before 201, idempotent, traced). The jobs carry the order's
// reference, which is how the order is found again and its state told.
import type { OrderItem, OrderRequest, OrderView } from '../../protocol/order.js';
import type { Ticket } from '../../protocol/ticket.js';
import { refusedField } from '../errors.js';
import { type Caller, type JobService, printersFor } from '../jobs.js';
import type { Directory, JobRecord, JobStore, StoreScope } from '../store/job-store.js';
import { DEFAULT_KITCHEN, DEFAULT_LABEL, DEFAULT_RECEIPT } from './default-templates.js';
import { renderTemplate } from './template.js';
import { orderView } from './view.js';

/** Items without a station, and stations the store has no printer for, go to the kitchen. */
export const DEFAULT_STATION = 'kitchen';
export const RECEIPT_ROLE = 'receipt';
/** Bag labels print where a store has a printer with this role, for orders that leave the store. */
export const LABEL_ROLE = 'label';
/** A ticket holds at most 2,000 blocks, 7 a label: an order of more units gets no labels (docs/orders.md). */
export const MAX_LABELS = 250;

interface PlannedTicket {
  /** "receipt" or "kitchen:<station>": also the suffix of its idempotency key. */
  name: string;
  printer: string;
  ticket: Ticket;
}

export class OrderService {
  constructor(
    private readonly directory: Directory,
    private readonly jobs: JobStore,
    private readonly service: JobService,
  ) {}

  /**
   * Lays out every ticket first (a bad order or a station with nowhere to print is refused before
   * any job exists), then commits them one by one. Each ticket's Idempotency-Key is the order's key
   * and its name, so that a retry after a failure half-way makes only the missing ones.
   */
  async place(order: OrderRequest, caller: Caller): Promise<{ view: OrderView; replayed: boolean }> {
    const planned = await this.plan(order);
    const created: JobRecord[] = [];
    let replayed = true;
    for (const t of planned) {
      const result = await this.service.create(
        {
          storeId: order.storeId,
          printer: t.printer,
          ticket: t.ticket,
          orderRef: { source: order.source, orderNo: order.orderNo },
        },
        { ...caller, idempotencyKey: caller.idempotencyKey && `${caller.idempotencyKey}#${t.name}` },
      );
      if (result.outcome === 'conflict') {
        throw refusedField(
          'conflict',
          `Idempotency-Key ${JSON.stringify(caller.idempotencyKey)} was already used with a different order (ticket ${t.name}, job ${result.job.id})`,
          '/headers/idempotency-key',
        );
      }
      if (result.outcome === 'created') replayed = false;
      created.push(result.job);
    }
    return { view: orderViewOf(order.storeId, order.source, order.orderNo, created), replayed };
  }

  /** The order's tickets and state; null when no job carries this order's reference in scope. */
  async find(
    scope: StoreScope,
    source: string,
    orderNo: string,
    storeId?: string,
  ): Promise<OrderView | null> {
    const jobs = (await this.jobs.listJobs({ storeIds: scope, storeId, source, orderNo, limit: 500 })).filter(
      (j) => j.reprintOf === null,
    );
    const first = jobs[0];
    if (!first) return null;
    return orderViewOf(first.storeId, source, orderNo, jobs.reverse());
  }

  private async plan(order: OrderRequest): Promise<PlannedTicket[]> {
    const store = await this.directory.getStore(order.storeId);
    if (!store) throw refusedField('not-found', `unknown store ${JSON.stringify(order.storeId)}`, '/storeId');
    const routing = await this.directory.storeRouting(order.storeId);
    const printers = routing?.printersKnown ? routing.printers : null;
    const has = (role: string) => printers === null || printersFor(role, printers).length > 0;

    const byStation = new Map<string, OrderItem[]>();
    for (const [i, item] of order.items.entries()) {
      if (item.station === RECEIPT_ROLE || item.station === LABEL_ROLE) {
        throw refusedField(
          'invalid',
          `station "${item.station}" is the printer role of the ${item.station}, not a kitchen station`,
          `/items/${i}/station`,
        );
      }
      let station = item.station ?? DEFAULT_STATION;
      if (!has(station)) station = DEFAULT_STATION;
      if (!has(station)) {
        const roles = [...new Set((printers ?? []).flatMap((p) => [p.id, ...p.roles]))].join(', ');
        throw refusedField(
          'unprocessable',
          `store ${order.storeId} has no printer for station "${item.station ?? DEFAULT_STATION}" nor a "${DEFAULT_STATION}" printer to stand in (it has: ${roles || 'no printers'})`,
          `/items/${i}/station`,
        );
      }
      byStation.set(station, [...(byStation.get(station) ?? []), item]);
    }
    const planned: PlannedTicket[] = [...byStation].map(([station, items]) => ({
      name: `kitchen:${station}`,
      printer: station,
      ticket: renderTemplate(DEFAULT_KITCHEN, orderView(order, { storeName: store.name, items, station })),
    }));
    // The counter's receipt, where the store has a receipt printer (or has not said yet).
    if (has(RECEIPT_ROLE)) {
      planned.push({
        name: RECEIPT_ROLE,
        printer: RECEIPT_ROLE,
        ticket: renderTemplate(
          DEFAULT_RECEIPT,
          orderView(order, { storeName: store.name, items: order.items }),
        ),
      });
    }
    // Labels only where the store is known to have a label printer: most stores have none.
    const labels = order.items.reduce((n, i) => n + i.qty, 0);
    if (order.type !== 'dine-in' && printers !== null && has(LABEL_ROLE) && labels <= MAX_LABELS) {
      planned.push({
        name: LABEL_ROLE,
        printer: LABEL_ROLE,
        ticket: renderTemplate(
          DEFAULT_LABEL,
          orderView(order, { storeName: store.name, items: order.items }),
        ),
      });
    }
    return planned;
  }
}

function ticketName(job: JobRecord): string {
  return job.printer === RECEIPT_ROLE || job.printer === LABEL_ROLE ? job.printer : `kitchen:${job.printer}`;
}

/** An order's state from its tickets' (see OrderView in protocol/order.ts). */
function orderState(jobs: JobRecord[]): OrderView['state'] {
  const states = jobs.map((j) => j.state);
  if (states.some((s) => s === 'failed' || s === 'expired')) return 'failed';
  if (states.some((s) => s === 'uncertain')) return 'uncertain';
  if (states.every((s) => s === 'printed')) return 'printed';
  if (states.every((s) => s === 'cancelled')) return 'cancelled';
  if (states.some((s) => s === 'printed')) return 'partly-printed';
  return 'waiting';
}

function orderViewOf(storeId: string, source: string, orderNo: string, jobs: JobRecord[]): OrderView {
  return {
    storeId,
    source,
    orderNo,
    state: orderState(jobs),
    tickets: jobs.map((j) => ({ ticket: ticketName(j), printer: j.printer, jobId: j.id, state: j.state })),
  };
}
