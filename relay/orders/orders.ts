// Orders: one order becomes one job per kitchen station with that station's items, the receipt
// and the bag labels, each laid out by its template and sent through the job path with everything
// jobs already guarantee (committed before 201, idempotent, traced). The order itself is kept with
// the jobs it made, so that a change prints what changed, and a cancellation tells the stations.
import {
  menuStation,
  type OrderItem,
  type OrderRequest,
  type OrderView,
  parseStoreMenu,
} from '../../protocol/order.js';
import type { TemplateKind } from '../../protocol/template.js';
import type { Ticket } from '../../protocol/ticket.js';
import { Refused, refusedField } from '../errors.js';
import { type Caller, type JobService, printersFor, requestFingerprint } from '../jobs.js';
import type { Directory, JobRecord, JobStore, StoreScope } from '../store/job-store.js';
import type { TemplateService } from './templates.js';
import { type ItemChange, orderView } from './view.js';

/** Items without a station, and stations the store has no printer for, go to the kitchen. */
export const DEFAULT_STATION = 'kitchen';
export const RECEIPT_ROLE = 'receipt';
/** Bag labels print where a store has a printer with this role, for orders that leave the store. */
export const LABEL_ROLE = 'label';
/** A ticket holds at most 2,000 blocks, 7 a label: an order of more units gets no labels (docs/orders.md). */
export const MAX_LABELS = 250;

interface PlannedTicket {
  /** "kitchen:<station>", "receipt", "label", "change:<station>", "cancel:<station>". */
  name: string;
  printer: string;
  ticket: Ticket;
  /** Its template failed and the built-in one laid it out: why. */
  warning?: string;
}

/** What is kept of an order (OrderRecord.body): as its source last sent it, and its tickets' jobs. */
interface KeptOrder {
  order: OrderRequest;
  tickets: { name: string; printer: string; jobId: string; warning?: string }[];
}

/** Where an order's items print: station (printer role) -> its items. */
type Stations = Map<string, OrderItem[]>;

/** The same dish, as a change ticket matches them: name, modifiers and note. */
const dishKey = (item: OrderItem) => JSON.stringify([item.name, item.modifiers ?? [], item.note ?? '']);

export class OrderService {
  constructor(
    private readonly directory: Directory,
    private readonly jobs: JobStore,
    private readonly service: JobService,
    private readonly templates: TemplateService,
  ) {}

  private async ticket(
    kind: TemplateKind,
    name: string,
    printer: string,
    order: OrderRequest,
    context: Parameters<typeof orderView>[1],
  ): Promise<PlannedTicket> {
    const { ticket, warning } = await this.templates.render(kind, order.storeId, orderView(order, context));
    return { name, printer, ticket, ...(warning === undefined ? {} : { warning }) };
  }

  /**
   * A new order. Lays out every ticket first (a bad order or a station with nowhere to print is
   * refused before any job exists), then commits them one by one. Each ticket's Idempotency-Key is
   * the order's key and its name, so that a retry after a failure half-way makes only the missing ones.
   */
  async place(order: OrderRequest, caller: Caller): Promise<{ view: OrderView; replayed: boolean }> {
    const kept = await this.kept(order.storeId, order.source, order.orderNo);
    if (kept) {
      // The order number is the order: sent again (a platform's retry, with any key), it prints nothing more.
      if (requestFingerprint(kept.order) === requestFingerprint(order)) {
        return { view: await this.viewOf(kept.order, kept.tickets, kept.cancelledAt), replayed: true };
      }
      throw refusedField(
        'conflict',
        `order ${order.source} ${order.orderNo} was already sent with other contents: send a change with PUT /v1/orders`,
        '/orderNo',
      );
    }
    const { store, stations, has } = await this.route(order);
    const planned: PlannedTicket[] = [];
    for (const [station, items] of stations) {
      planned.push(
        await this.ticket('kitchen', `kitchen:${station}`, station, order, {
          storeName: store,
          items,
          station,
        }),
      );
    }
    // The counter's receipt, where the store has a receipt printer (or has not said yet).
    if (has(RECEIPT_ROLE)) {
      planned.push(
        await this.ticket('receipt', RECEIPT_ROLE, RECEIPT_ROLE, order, {
          storeName: store,
          items: order.items,
        }),
      );
    }
    // Labels only where the store is known to have a label printer: most stores have none.
    const units = order.items.reduce((n, i) => n + i.qty, 0);
    if (order.type !== 'dine-in' && has(LABEL_ROLE, { known: true }) && units <= MAX_LABELS) {
      planned.push(
        await this.ticket('label', LABEL_ROLE, LABEL_ROLE, order, { storeName: store, items: order.items }),
      );
    }
    const { jobs, replayed } = await this.print(order, planned, caller);
    const tickets = planned.map((t, i) => ticketRef(t, jobs[i] as JobRecord));
    await this.keep(order, tickets, null);
    return { view: await this.viewOf(order, tickets, null), replayed };
  }

  /**
   * A changed order (PUT): each station whose items changed gets a ticket marked 改单 CHANGED
   * with what to add and what to take off; the kept order becomes the new one.
   */
  async change(order: OrderRequest, caller: Caller): Promise<{ view: OrderView; replayed: boolean }> {
    const kept = await this.mustKeep(order.storeId, order.source, order.orderNo);
    if (kept.cancelledAt !== null) throw new Refused('conflict', `order ${order.orderNo} was cancelled`);
    const { store, stations: after } = await this.route(order);
    const { stations: before } = await this.route(kept.order);
    const planned: PlannedTicket[] = [];
    for (const station of new Set([...before.keys(), ...after.keys()])) {
      const changes = diff(before.get(station) ?? [], after.get(station) ?? []);
      if (changes.length === 0) continue;
      const round = kept.tickets.filter((t) => t.name.startsWith(`change:${station}#`)).length + 1;
      planned.push(
        await this.ticket('change', `change:${station}#${round}`, station, order, {
          storeName: store,
          items: after.get(station) ?? [],
          station,
          changes,
        }),
      );
    }
    const { jobs, replayed } = await this.print(order, planned, caller);
    const tickets = [...kept.tickets, ...planned.map((t, i) => ticketRef(t, jobs[i] as JobRecord))];
    await this.keep(order, tickets, null);
    return { view: await this.viewOf(order, tickets, null), replayed };
  }

  /**
   * A cancelled order: tickets still at the relay are cancelled there; every station that may
   * have its ticket gets one marked 退单 CANCELLED with its items (stop if started).
   */
  async cancel(storeId: string, source: string, orderNo: string, caller: Caller): Promise<OrderView> {
    const kept = await this.mustKeep(storeId, source, orderNo);
    if (kept.cancelledAt !== null) return this.viewOf(kept.order, kept.tickets, kept.cancelledAt);
    const { store, stations } = await this.route(kept.order);
    const planned: PlannedTicket[] = [];
    for (const t of kept.tickets) {
      const job = await this.jobs.getJob(t.jobId);
      if (!job || job.state === 'cancelled' || job.state === 'expired' || job.state === 'failed') continue;
      if (job.state === 'accepted') {
        // Never left the relay: nothing to tell the station.
        await this.service.cancel(job).catch(() => undefined);
        continue;
      }
      if (job.state !== 'printing' && job.state !== 'printed')
        await this.service.cancel(job).catch(() => undefined);
      if (!t.name.startsWith('kitchen:')) continue;
      const station = t.printer;
      planned.push(
        await this.ticket('cancel', `cancel:${station}`, station, kept.order, {
          storeName: store,
          items: stations.get(station) ?? [],
          station,
        }),
      );
    }
    const { jobs } = await this.print(kept.order, planned, caller);
    const tickets = [...kept.tickets, ...planned.map((t, i) => ticketRef(t, jobs[i] as JobRecord))];
    const at = Date.now();
    await this.keep(kept.order, tickets, at);
    return this.viewOf(kept.order, tickets, at);
  }

  /**
   * Prints the order's tickets again, marked REPRINT (a lost kitchen ticket, a customer's copy):
   * all of its first tickets, or those named in `only` ("receipt", "kitchen:pizza"). Finished ones
   * only, as for jobs; each reprint is a job of the order, linked to its original.
   */
  async reprint(
    storeId: string,
    source: string,
    orderNo: string,
    only: string[] | undefined,
    caller: Caller,
  ): Promise<{ reprints: { ticket: string; jobId: string }[]; replayed: boolean }> {
    const kept = await this.mustKeep(storeId, source, orderNo);
    const firsts = kept.tickets.filter((t) => !t.name.startsWith('change:') && !t.name.startsWith('cancel:'));
    const unknown = (only ?? []).filter((name) => !firsts.some((t) => t.name === name));
    if (unknown.length > 0) {
      throw refusedField(
        'invalid',
        `order ${orderNo} has no ticket ${unknown.join(', ')} (it has ${firsts.map((t) => t.name).join(', ')})`,
        '/tickets',
      );
    }
    const reprints: { ticket: string; jobId: string }[] = [];
    let replayed = true;
    for (const t of firsts.filter((f) => only === undefined || only.includes(f.name))) {
      const job = await this.jobs.getJob(t.jobId);
      if (!job) throw new Refused('not-found', `ticket ${t.name} of order ${orderNo} is no longer kept`);
      const result = await this.service.reprint(
        job,
        {},
        {
          ...caller,
          idempotencyKey: caller.idempotencyKey && `${caller.idempotencyKey}#${t.name}`,
        },
      );
      if (result.outcome === 'conflict') {
        throw refusedField(
          'conflict',
          `Idempotency-Key ${JSON.stringify(caller.idempotencyKey)} was already used for another reprint`,
          '/headers/idempotency-key',
        );
      }
      if (result.outcome === 'created') replayed = false;
      reprints.push({ ticket: t.name, jobId: result.job.id });
    }
    return { reprints, replayed };
  }

  /** The order's tickets and state; null when the relay has no such order in scope. */
  async find(
    scope: StoreScope,
    source: string,
    orderNo: string,
    storeId?: string,
  ): Promise<OrderView | null> {
    const [job] = await this.jobs.listJobs({ storeIds: scope, storeId, source, orderNo, limit: 1 });
    if (!job) return null;
    const kept = await this.kept(job.storeId, source, orderNo);
    return kept ? this.viewOf(kept.order, kept.tickets, kept.cancelledAt) : null;
  }

  private async print(
    order: OrderRequest,
    planned: PlannedTicket[],
    caller: Caller,
  ): Promise<{ jobs: JobRecord[]; replayed: boolean }> {
    const jobs: JobRecord[] = [];
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
      jobs.push(result.job);
    }
    return { jobs, replayed };
  }

  /** Which station each item prints at, and what the store has. */
  private async route(order: OrderRequest): Promise<{
    store: string;
    stations: Stations;
    has: (role: string, opts?: { known: boolean }) => boolean;
  }> {
    const store = await this.directory.getStore(order.storeId);
    if (!store) throw refusedField('not-found', `unknown store ${JSON.stringify(order.storeId)}`, '/storeId');
    const routing = await this.directory.storeRouting(order.storeId);
    const printers = routing?.printersKnown ? routing.printers : null;
    // Before the agent has said which printers it has, every role is taken as there.
    const has = (role: string, opts = { known: false }) =>
      printers === null ? !opts.known : printersFor(role, printers).length > 0;

    const menuText = await this.jobs.getMenu(order.storeId);
    const menu = menuText === null ? null : parseStoreMenu(JSON.parse(menuText));
    const stations: Stations = new Map();
    for (const [i, item] of order.items.entries()) {
      if (item.station === RECEIPT_ROLE || item.station === LABEL_ROLE) {
        throw refusedField(
          'invalid',
          `station "${item.station}" is the printer role of the ${item.station}, not a kitchen station`,
          `/items/${i}/station`,
        );
      }
      const wanted = item.station ?? (menu && menuStation(menu, item)) ?? DEFAULT_STATION;
      const station = has(wanted) ? wanted : DEFAULT_STATION;
      if (!has(station)) {
        const roles = [...new Set((printers ?? []).flatMap((p) => [p.id, ...p.roles]))].join(', ');
        throw refusedField(
          'unprocessable',
          `store ${order.storeId} has no printer for station "${wanted}" nor a "${DEFAULT_STATION}" printer to stand in (it has: ${roles || 'no printers'})`,
          `/items/${i}/station`,
        );
      }
      stations.set(station, [...(stations.get(station) ?? []), item]);
    }
    return { store: store.name, stations, has };
  }

  private async kept(
    storeId: string,
    source: string,
    orderNo: string,
  ): Promise<(KeptOrder & { cancelledAt: number | null }) | null> {
    const record = await this.jobs.getOrder(storeId, source, orderNo);
    return record ? { ...(JSON.parse(record.body) as KeptOrder), cancelledAt: record.cancelledAt } : null;
  }

  private async mustKeep(storeId: string, source: string, orderNo: string) {
    const kept = await this.kept(storeId, source, orderNo);
    if (!kept) throw new Refused('not-found', `no order ${source} ${orderNo} at store ${storeId}`);
    return kept;
  }

  private keep(
    order: OrderRequest,
    tickets: KeptOrder['tickets'],
    cancelledAt: number | null,
  ): Promise<void> {
    const body: KeptOrder = { order, tickets };
    return this.jobs.putOrder({
      storeId: order.storeId,
      source: order.source,
      orderNo: order.orderNo,
      body: JSON.stringify(body),
      cancelledAt,
      updatedAt: Date.now(),
    });
  }

  private async viewOf(
    order: OrderRequest,
    tickets: KeptOrder['tickets'],
    cancelledAt: number | null,
  ): Promise<OrderView> {
    const jobs = await Promise.all(tickets.map((t) => this.jobs.getJob(t.jobId)));
    const withJobs = tickets.map((t, i) => ({ ...t, state: jobs[i]?.state ?? 'expired' }));
    // The state is the first tickets' (the change and cancellation ones only follow them).
    const firsts = withJobs.filter((t) => !t.name.startsWith('change:') && !t.name.startsWith('cancel:'));
    return {
      storeId: order.storeId,
      source: order.source,
      orderNo: order.orderNo,
      state: cancelledAt !== null ? 'cancelled' : orderState(firsts.map((t) => t.state)),
      tickets: withJobs.map((t) => ({
        ticket: t.name,
        printer: t.printer,
        jobId: t.jobId,
        state: t.state,
        ...(t.warning === undefined ? {} : { warning: t.warning }),
      })),
    };
  }
}

function ticketRef(t: PlannedTicket, job: JobRecord): KeptOrder['tickets'][number] {
  return {
    name: t.name,
    printer: t.printer,
    jobId: job.id,
    ...(t.warning === undefined ? {} : { warning: t.warning }),
  };
}

/** What to add and take off at a station: by dish, the difference in quantity. */
function diff(before: OrderItem[], after: OrderItem[]): ItemChange[] {
  const qty = new Map<string, { item: OrderItem; delta: number }>();
  for (const [items, sign] of [
    [before, -1],
    [after, 1],
  ] as const) {
    for (const item of items) {
      const entry = qty.get(dishKey(item)) ?? { item, delta: 0 };
      entry.delta += sign * item.qty;
      qty.set(dishKey(item), entry);
    }
  }
  return [...qty.values()]
    .filter((e) => e.delta !== 0)
    .map((e) => ({ change: e.delta > 0 ? `+${e.delta}` : String(e.delta), item: e.item }));
}

/** An order's state from its tickets' (see OrderView in protocol/order.ts). */
function orderState(states: string[]): OrderView['state'] {
  if (states.some((s) => s === 'failed' || s === 'expired')) return 'failed';
  if (states.some((s) => s === 'uncertain')) return 'uncertain';
  if (states.every((s) => s === 'printed')) return 'printed';
  if (states.every((s) => s === 'cancelled')) return 'cancelled';
  if (states.some((s) => s === 'printed')) return 'partly-printed';
  return 'waiting';
}
