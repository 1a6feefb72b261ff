// Creating, cancelling and reprinting jobs, and the job view the API returns. Requests
// arrive here already validated against their schemas.
import { createHash, randomUUID } from 'node:crypto';
import { isFinalJobState, JOB_LIMITS, type JobRequest, type JobView } from '../protocol/job.js';
import { markRawAsReprint, markTicketAsReprint } from '../protocol/reprint.js';
import type { Ticket } from '../protocol/ticket.js';
import { HttpError } from './api/errors.js';
import type { Dispatcher } from './dispatcher.js';
import {
  type CreateJobResult,
  type Directory,
  DuplicateError,
  type JobRecord,
  type JobStore,
  type NewJob,
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

/** A request the caller must fix; the issue names the offending field. */
function badField(status: number, message: string, path: string): HttpError {
  return new HttpError(status, message, [{ path, message }]);
}

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
      throw badField(400, 'give expiresAt or ttlSeconds, not both', '/ttlSeconds');
    }
    if (req.expiresAt !== undefined) {
      const at = Date.parse(req.expiresAt);
      if (at <= now) throw badField(400, 'expiresAt is in the past', '/expiresAt');
      if (at > now + JOB_LIMITS.maxLifetimeSeconds * 1000) {
        throw badField(400, 'expiresAt is more than 7 days ahead', '/expiresAt');
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

  async create(req: JobRequest, caller: Caller): Promise<CreateJobResult> {
    if ((req.ticket === undefined) === (req.raw === undefined)) {
      throw badField(400, 'exactly one of ticket or raw is required', '/ticket');
    }
    const now = Date.now();
    const expiresAt = this.expiry(req, now);
    if ((await this.directory.storeOnline(req.storeId)) === null) {
      throw badField(404, `unknown store ${JSON.stringify(req.storeId)}`, '/storeId');
    }
    return this.commit({
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
      throw new HttpError(409, `job ${job.id} is still ${job.state}; reprint it once it has finished`);
    }
    const original = job.reprintOf ? await this.jobs.getJob(job.reprintOf) : job;
    if (!original) throw new HttpError(404, `the original of job ${job.id} no longer exists`);
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
          printer: options.printer ?? original.printer,
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
      throw new HttpError(409, `job ${job.id} is already ${job.state} and can no longer be cancelled`);
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
    if (!requested) throw new HttpError(404, `unknown job ${job.id}`);
    if ((await this.directory.storeOnline(job.storeId)) && !isFinalJobState(requested.state)) {
      await this.dispatcher.sendCancel(requested);
    }
    return requested;
  }

  async views(jobs: JobRecord[]): Promise<JobView[]> {
    const timelines = await this.jobs.timelines(jobs.map((j) => j.id));
    return jobs.map((j) => toJobView(j, timelines.get(j.id) ?? []));
  }
}

export function toJobView(job: JobRecord, timeline: TimelineRecord[]): JobView {
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
    timeline: timeline.map((t) => ({
      state: t.state,
      at: iso(t.at),
      ...(t.detail ? { detail: t.detail } : {}),
    })),
  };
}
