// Creating, cancelling and reprinting jobs, and the job view the API returns. Requests
// arrive here already validated against their schemas.
import { createHash, randomUUID } from 'node:crypto';
import {
  isFinalJobState,
  JOB_LIMITS,
  type JobRequest,
  type JobState,
  type JobView,
  type JobWaiting,
} from '../protocol/job.js';
import { markRawAsReprint, markTicketAsReprint } from '../protocol/reprint.js';
import { notReadyReasons } from '../protocol/status.js';
import type { Ticket } from '../protocol/ticket.js';
import type { Dispatcher } from './dispatcher.js';
import { Refused, refusedField } from './errors.js';
import {
  type CreateJobResult,
  type Directory,
  DuplicateError,
  type JobRecord,
  type JobStore,
  type NewJob,
  type PrinterRecord,
  type StoreRecord,
  type StoreRouting,
  type TimelineRecord,
} from './store/job-store.js';

/** The same JSON value gives the same fingerprint, whatever the key order. */
export function requestFingerprint(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex');
}

/** The printers a printer ref names: the one with that id, else those with that role. */
export function printersFor<P extends { id: string; roles: readonly string[] }>(
  ref: string,
  printers: P[],
): P[] {
  const byId = printers.filter((p) => p.id === ref);
  return byId.length > 0 ? byId : printers.filter((p) => p.roles.includes(ref));
}

/**
 * Refuses a printer ref the store's agent could never resolve (422, naming what it has), and
 * says so when the store's printers are not known yet, so the ref could not be checked.
 */
function checkPrinterRef(storeId: string, ref: string, routing: StoreRouting): string | undefined {
  if (!routing.printersKnown) {
    return `store ${storeId}'s agent has not reported its printers yet: printer "${ref}" is checked when the agent receives the job`;
  }
  if (printersFor(ref, routing.printers).length > 0) return undefined;
  const has = routing.printers.map((p) => (p.roles.length ? `${p.id} (${p.roles.join(', ')})` : p.id));
  throw refusedField(
    'unprocessable',
    has.length === 0
      ? `store ${storeId} has no printers, so printer "${ref}" cannot print there`
      : `store ${storeId} has no printer or role "${ref}": its printers are ${has.join('; ')}`,
    '/printer',
  );
}

/** Why an open job is not printing yet, when the relay can tell. */
function waitingReason(
  job: JobRecord,
  store: StoreRecord,
  printers: PrinterRecord[],
): JobWaiting | undefined {
  if (!WAITING_STATES.includes(job.state)) return undefined;
  if (store.disabledAt !== null)
    return { printerId: null, reasons: ['store-disabled'], message: `store ${store.id} is disabled` };
  if (!store.online) {
    const since =
      store.lastSeenAt === null ? 'never seen' : `last seen ${new Date(store.lastSeenAt).toISOString()}`;
    return {
      printerId: null,
      reasons: ['store-offline'],
      message: `the agent of store ${store.id} is offline (${since})`,
    };
  }
  if (job.state !== 'delivered') return undefined;
  const known = printers.map((p) => ({ ...p, id: p.printerId, roles: p.info?.roles ?? [] }));
  const targets = job.printerId
    ? known.filter((p) => p.id === job.printerId)
    : printersFor(job.printer, known);
  const blocked = targets.map((p) => ({ p, reasons: p.status ? notReadyReasons(p.status) : [] }));
  if (blocked.length === 0 || blocked.some((b) => b.reasons.length === 0)) return undefined;
  const [first] = blocked as [(typeof blocked)[number]];
  return {
    printerId: first.p.id,
    reasons: first.reasons,
    message: `printer ${first.p.id} is not ready: ${first.reasons.join(', ')}`,
  };
}

/** States in which a job waits for the store: the relay may know why. */
const WAITING_STATES: readonly JobState[] = ['accepted', 'sent', 'delivered'];

export interface JobServiceOptions {
  defaultTtlSeconds: number;
}

export interface Caller {
  apiKeyId: string;
  idempotencyKey: string | null;
}

export class JobService {
  constructor(
    private readonly jobs: JobStore,
    private readonly directory: Directory,
    private readonly dispatcher: Dispatcher,
    private readonly opts: JobServiceOptions,
  ) {}

  private expiry(
    req: { expiresAt?: string | undefined; ttlSeconds?: number | undefined },
    now: number,
  ): number {
    if (req.expiresAt !== undefined && req.ttlSeconds !== undefined) {
      throw refusedField('invalid', 'give expiresAt or ttlSeconds, not both', '/ttlSeconds');
    }
    if (req.expiresAt !== undefined) {
      const at = Date.parse(req.expiresAt);
      if (at <= now) throw refusedField('invalid', 'expiresAt is in the past', '/expiresAt');
      if (at > now + JOB_LIMITS.maxLifetimeSeconds * 1000) {
        throw refusedField('invalid', 'expiresAt is more than 7 days ahead', '/expiresAt');
      }
      return at;
    }
    return now + (req.ttlSeconds ?? this.opts.defaultTtlSeconds) * 1000;
  }

  private async commit(job: NewJob): Promise<CreateJobResult> {
    const result = await this.jobs.createJob(job);
    if (result.outcome === 'created') await this.dispatcher.jobCreated(result.job);
    return result;
  }

  /** The store's routing, or why it takes no jobs. */
  private async routing(storeId: string): Promise<StoreRouting> {
    const routing = await this.directory.storeRouting(storeId);
    if (!routing) throw refusedField('not-found', `unknown store ${JSON.stringify(storeId)}`, '/storeId');
    if (routing.disabled) {
      throw refusedField(
        'conflict',
        `store ${storeId} is disabled: an operator must enable it first`,
        '/storeId',
      );
    }
    return routing;
  }

  /** `note`: what the caller should know (the printer could not be checked yet). */
  async create(req: JobRequest, caller: Caller): Promise<CreateJobResult & { note?: string }> {
    if ((req.ticket === undefined) === (req.raw === undefined)) {
      throw refusedField('invalid', 'exactly one of ticket or raw is required', '/ticket');
    }
    const now = Date.now();
    const expiresAt = this.expiry(req, now);
    const note = checkPrinterRef(req.storeId, req.printer, await this.routing(req.storeId));
    const result = await this.commit({
      id: randomUUID(),
      storeId: req.storeId,
      printer: req.printer,
      kind: req.ticket ? 'ticket' : 'raw',
      payload: req.ticket ? JSON.stringify(req.ticket) : (req.raw as string),
      copies: req.copies ?? 1,
      onExpiry: req.onExpiry ?? 'expire',
      expiresAt,
      createdAt: now,
      orderRef: req.orderRef ?? null,
      reprintOf: null,
      reprintCount: 0,
      idempotency: caller.idempotencyKey
        ? { apiKeyId: caller.apiKeyId, key: caller.idempotencyKey, requestHash: requestFingerprint(req) }
        : null,
    });
    return note === undefined ? result : { ...result, note };
  }

  /**
   * A new job printing the original again with a visible REPRINT mark. A reprint of a reprint
   * reprints the original. Only finished jobs can be reprinted.
   */
  async reprint(
    job: JobRecord,
    options: { printer?: string | undefined; copies?: number | undefined; ttlSeconds?: number | undefined },
    caller: Caller,
  ): Promise<CreateJobResult> {
    if (!isFinalJobState(job.state)) {
      throw new Refused('conflict', `job ${job.id} is still ${job.state}; reprint it once it has finished`);
    }
    const original = job.reprintOf ? await this.jobs.getJob(job.reprintOf) : job;
    if (!original) throw new Refused('not-found', `the original of job ${job.id} no longer exists`);
    const printer = options.printer ?? original.printer;
    checkPrinterRef(original.storeId, printer, await this.routing(original.storeId));
    const now = Date.now();
    for (let attempt = 0; ; attempt++) {
      const count = (await this.jobs.countReprints(original.id)) + 1;
      const payload =
        original.kind === 'ticket'
          ? JSON.stringify(markTicketAsReprint(JSON.parse(original.payload) as Ticket, count))
          : markRawAsReprint(original.payload, count);
      try {
        return await this.commit({
          id: randomUUID(),
          storeId: original.storeId,
          printer,
          kind: original.kind,
          payload,
          copies: options.copies ?? 1,
          onExpiry: original.onExpiry,
          expiresAt: now + (options.ttlSeconds ?? this.opts.defaultTtlSeconds) * 1000,
          createdAt: now,
          orderRef: original.orderRef,
          reprintOf: original.id,
          reprintCount: count,
          idempotency: caller.idempotencyKey
            ? {
                apiKeyId: caller.apiKeyId,
                key: caller.idempotencyKey,
                requestHash: requestFingerprint({ reprintOf: job.id, ...options }),
              }
            : null,
        });
      } catch (err) {
        // Two reprints at once took the same number: count again.
        if (!(err instanceof DuplicateError) || attempt >= 5) throw err;
      }
    }
  }

  /**
   * A job still at the relay is cancelled at once. One the agent may hold gets a cancel
   * request, forwarded to the agent; its state follows the agent's answer.
   */
  async cancel(job: JobRecord): Promise<JobRecord> {
    const now = Date.now();
    if (isFinalJobState(job.state) || job.state === 'printing') {
      throw new Refused('conflict', `job ${job.id} is already ${job.state} and can no longer be cancelled`);
    }
    if (job.state === 'accepted') {
      const cancelled = await this.jobs.transitionJob(job.id, 'cancelled', {
        at: now,
        detail: 'cancelled through the API',
        onlyFrom: ['accepted'],
      });
      if (cancelled) return cancelled;
    }
    const requested = await this.jobs.requestCancel(job.id, now);
    if (!requested) throw new Refused('not-found', `unknown job ${job.id}`);
    if ((await this.directory.storeOnline(job.storeId)) && !isFinalJobState(requested.state)) {
      await this.dispatcher.sendCancel(requested);
    }
    return requested;
  }

  async views(jobs: JobRecord[]): Promise<JobView[]> {
    const timelines = await this.jobs.timelines(jobs.map((j) => j.id));
    // The stores of the jobs that may be waiting, each looked up once.
    const stores = new Map<string, { store: StoreRecord | null; printers: PrinterRecord[] }>();
    for (const { storeId } of jobs.filter((j) => WAITING_STATES.includes(j.state))) {
      if (stores.has(storeId)) continue;
      stores.set(storeId, {
        store: await this.directory.getStore(storeId),
        printers: await this.directory.listPrinters(storeId),
      });
    }
    return jobs.map((j) => {
      const at = stores.get(j.storeId);
      const waiting = at?.store ? waitingReason(j, at.store, at.printers) : undefined;
      return toJobView(j, timelines.get(j.id) ?? [], waiting);
    });
  }
}

export function toJobView(job: JobRecord, timeline: TimelineRecord[], waiting?: JobWaiting): JobView {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    jobId: job.id,
    storeId: job.storeId,
    printer: job.printer,
    printerId: job.printerId,
    kind: job.kind,
    state: job.state,
    copies: job.copies,
    onExpiry: job.onExpiry,
    expiresAt: iso(job.expiresAt),
    createdAt: iso(job.createdAt),
    updatedAt: iso(job.updatedAt),
    orderRef: job.orderRef,
    reprintOf: job.reprintOf,
    reprintCount: job.reprintCount,
    cancelRequested: job.cancelRequestedAt !== null && !isFinalJobState(job.state),
    ...(waiting ? { waiting } : {}),
    timeline: timeline.map((t) => ({
      state: t.state,
      at: iso(t.at),
      ...(t.detail ? { detail: t.detail } : {}),
    })),
  };
}
