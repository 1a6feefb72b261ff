// /v1/jobs: create (idempotent), look up, trace by order, cancel, reprint.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  ApiError,
  IdParams,
  JobListQuery,
  parseIdParams,
  parseJobListQuery,
  parseReprintRequest,
  ReprintRequest,
} from '../../protocol/api.js';
import { JobCreated, JobList, JobRequest, JobView, parseJobRequest } from '../../protocol/job.js';
import type { Caller, JobService } from '../jobs.js';
import { type JobRecord, type JobStore, scopeIncludes } from '../store/job-store.js';
import { assertStoreAccess } from './auth.js';
import { HttpError } from './errors.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

const errors = {
  400: ApiError,
  401: ApiError,
  403: ApiError,
  404: ApiError,
  409: ApiError,
  413: ApiError,
  422: ApiError,
  415: ApiError,
};

/** Jobs and reprints both print: a client's retry must not print twice. */
export function idempotencyKey(request: FastifyRequest): string {
  const value = request.headers['idempotency-key'];
  const issue = (message: string) =>
    new HttpError(400, `Idempotency-Key header ${message}`, [{ path: '/headers/idempotency-key', message }]);
  if (value === undefined) {
    throw issue('is required: send a unique key per ticket or reprint, and the same key when you retry');
  }
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY.test(value)) {
    throw issue('must be 1-255 printable ASCII characters without spaces');
  }
  return value;
}

export function registerJobRoutes(app: FastifyInstance, deps: { jobs: JobStore; service: JobService }): void {
  const { jobs, service } = deps;

  async function findJob(request: FastifyRequest): Promise<JobRecord> {
    const { id } = parseIdParams(request.params);
    const job = await jobs.getJob(id);
    // Another store's job is as unknown as a job that does not exist: a 403 would tell
    // which ids exist.
    if (!job || !scopeIncludes(request.apiKey.stores, job.storeId))
      throw new HttpError(404, `unknown job ${JSON.stringify(id)}`);
    return job;
  }

  const caller = (request: FastifyRequest, key: string): Caller => ({
    apiKeyId: request.apiKey.id,
    idempotencyKey: key,
  });

  app.post(
    '/v1/jobs',
    {
      schema: {
        summary: 'Send a ticket to a store printer',
        description:
          'Answers 201 once the job is committed. The same Idempotency-Key with the same body returns the same job ' +
          '(header Idempotent-Replayed: true) and prints nothing more; with another body it is a 409. ' +
          'Keys are scoped to the API key and kept as long as the job (90 days by default). ' +
          'A printer the store does not have is a 422 naming its printers and roles, once its agent has reported ' +
          'them; until then the job is accepted with a note saying the printer could not be checked.',
        headers: Type.Object({ 'idempotency-key': Type.String({ maxLength: 255 }) }),
        body: JobRequest,
        response: { 201: JobCreated, ...errors },
      },
    },
    async (request, reply) => {
      const key = idempotencyKey(request);
      const body = parseJobRequest(request.body);
      assertStoreAccess(request, body.storeId);
      const result = await service.create(body, caller(request, key));
      if (result.outcome === 'conflict') {
        throw new HttpError(
          409,
          `Idempotency-Key ${JSON.stringify(key)} was already used with a different request (job ${result.job.id})`,
        );
      }
      if (result.outcome === 'replayed') reply.header('idempotent-replayed', 'true');
      reply.header('location', `/v1/jobs/${result.job.id}`);
      const created: JobCreated = { jobId: result.job.id, state: result.job.state };
      if (result.note !== undefined) created.note = result.note;
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      schema: { summary: 'A job with its timeline', params: IdParams, response: { 200: JobView, ...errors } },
    },
    async (request) => {
      const [view] = await service.views([await findJob(request)]);
      return view;
    },
  );

  app.get(
    '/v1/jobs',
    {
      schema: {
        summary: 'Find jobs: trace an order to its tickets',
        querystring: JobListQuery,
        response: { 200: JobList, ...errors },
      },
    },
    async (request) => {
      const q = parseJobListQuery(request.query);
      if (q.storeId !== undefined) assertStoreAccess(request, q.storeId);
      const limit = q.limit === undefined ? 100 : Number(q.limit);
      if (limit < 1 || limit > 500) {
        throw new HttpError(400, 'limit must be between 1 and 500', [
          { path: '/limit', message: 'must be 1-500' },
        ]);
      }
      const found = await jobs.listJobs({
        storeIds: request.apiKey.stores,
        storeId: q.storeId,
        orderNo: q.orderNo,
        source: q.source,
        state: q.state,
        since: q.since === undefined ? undefined : Date.parse(q.since),
        limit,
      });
      return { jobs: await service.views(found) };
    },
  );

  app.post(
    '/v1/jobs/:id/cancel',
    {
      schema: {
        summary: 'Cancel a job that has not started printing',
        description:
          '200 when cancelled at once (the job never left the relay); 202 with cancelRequested when the agent ' +
          'may hold it: the state follows its answer. 409 once printing has started or the job is finished.',
        params: IdParams,
        response: { 200: JobView, 202: JobView, ...errors },
      },
    },
    async (request, reply) => {
      const job = await service.cancel(await findJob(request));
      const [view] = await service.views([job]);
      return reply.code(job.state === 'cancelled' ? 200 : 202).send(view);
    },
  );

  app.post(
    '/v1/jobs/:id/reprint',
    {
      schema: {
        summary: 'Print a finished job again, marked REPRINT #n',
        description:
          'Creates a new job linked to the original. The Idempotency-Key header is required, as for POST /v1/jobs: ' +
          'a retry with the same key returns the same reprint (Idempotent-Replayed: true) instead of printing again. ' +
          'The body is optional (no body: the original printer, one copy).',
        headers: Type.Object({ 'idempotency-key': Type.String({ maxLength: 255 }) }),
        params: IdParams,
        body: Type.Optional(ReprintRequest),
        response: { 201: JobView, ...errors },
      },
    },
    async (request, reply) => {
      const key = idempotencyKey(request);
      const job = await findJob(request);
      const options = parseReprintRequest(request.body ?? {});
      const result = await service.reprint(job, options, caller(request, key));
      if (result.outcome === 'conflict') {
        throw new HttpError(
          409,
          `Idempotency-Key ${JSON.stringify(key)} was already used with a different request`,
        );
      }
      if (result.outcome === 'replayed') reply.header('idempotent-replayed', 'true');
      const [view] = await service.views([result.job]);
      return reply.code(201).send(view);
    },
  );
}
