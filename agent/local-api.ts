// The agent's local HTTP API for the store (tray app, POS, a person with curl): status, jobs,
// test print, reprint, held jobs. Loopback only, and only for requests that name loopback in
// Host (a web page cannot reach it through DNS rebinding) and come from no foreign Origin (a
// web page cannot make the store print through a cross-site POST). OpenAPI at /openapi.json.
import type { AddressInfo } from 'node:net';
import swagger from '@fastify/swagger';
import { type Static, Type } from '@sinclair/typebox';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { ValidationError, validator } from '../protocol/validate.js';
import { consoleLog, type Log } from '../shared/log.js';
import { version } from '../shared/version.js';
import { AgentRequestError } from './request-error.js';
import { AgentView, type LocalJobState, LocalJobStateSchema, LocalJobView } from './views.js';

/** What the local API needs of the agent (agent/agent.ts Agent implements it). */
export interface LocalApiTarget {
  view(): AgentView;
  listJobs(filter?: { state?: LocalJobState; limit?: number }): LocalJobView[];
  getJob(jobId: string): LocalJobView | undefined;
  testPrint(printerId: string): LocalJobView;
  reprint(jobId: string): LocalJobView;
  decideHeld(jobId: string, decision: 'print' | 'discard'): LocalJobView;
}

export interface LocalApiOptions {
  /** On 127.0.0.1; 0 picks a free port. */
  port: number;
  log?: Log;
}

export interface LocalApi {
  /** http://127.0.0.1:PORT */
  url: string;
  close(): Promise<void>;
}

export const LocalApiError = Type.Object(
  {
    error: Type.String({ description: 'Short code: bad_request, forbidden, not_found, conflict, ...' }),
    message: Type.String({ description: 'What is wrong, for a person.' }),
  },
  { $id: 'LocalApiError' },
);
export type LocalApiError = Static<typeof LocalApiError>;

const ERROR_CODES: Record<number, string> = {
  400: 'bad_request',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  500: 'internal',
};

const HOST = '127.0.0.1';
const LOOPBACK_NAMES = new Set([HOST, 'localhost']);

const JobsQuery = Type.Object(
  {
    state: Type.Optional(LocalJobStateSchema),
    limit: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,6}$',
        description: 'At most this many jobs, newest first (default 100).',
      }),
    ),
  },
  { additionalProperties: false },
);
const parseJobsQuery = validator(JobsQuery, 'query');
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const parseIdParams = validator(IdParams, 'path');
const JobList = Type.Object({ jobs: Type.Array(LocalJobView) });

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** "localhost:8765" -> "localhost". */
function hostName(host: string): string {
  return host.replace(/:\d+$/, '').toLowerCase();
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' && LOOPBACK_NAMES.has(u.hostname.toLowerCase());
  } catch {
    return false;
  }
}

/** The guard against web pages: see the top of this file. */
function refusal(request: FastifyRequest): string | null {
  const host = request.headers.host;
  if (!host || !LOOPBACK_NAMES.has(hostName(host))) {
    return `Host ${JSON.stringify(host ?? '')} is not allowed: use http://${HOST}:PORT or http://localhost:PORT`;
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !isLoopbackOrigin(origin)) {
    return `requests from web pages of other sites are not allowed (Origin ${JSON.stringify(origin)})`;
  }
  return null;
}

function sendError(reply: FastifyReply, status: number, message: string): void {
  const body: LocalApiError = { error: ERROR_CODES[status] ?? 'error', message };
  void reply.code(status).type('application/json').send(body);
}

export async function startLocalApi(target: LocalApiTarget, opts: LocalApiOptions): Promise<LocalApi> {
  const log = opts.log ?? consoleLog;
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, return503OnClosing: true });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'printrelay store agent local API',
        version,
        description: `Status, jobs, test prints and reprints at the store. Listens on ${HOST} only.`,
      },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  // The schemas document the API; requests are checked explicitly so that errors name the field.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // No endpoint takes a body; an empty one sent as JSON (curl -H ... -d '') is not an error.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, _body, done) => done(null));

  app.addHook('onRequest', async (request, reply) => {
    const why = refusal(request);
    if (why) {
      sendError(reply, 403, why);
      return reply;
    }
  });

  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    if (err instanceof AgentRequestError || err instanceof HttpError)
      return sendError(reply, err.status, err.message);
    if (err instanceof ValidationError) return sendError(reply, 400, err.message);
    const statusCode = (err as FastifyError).statusCode;
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      return sendError(reply, statusCode, err.message);
    }
    log.error(`local API ${request.method} ${request.url}: ${err.stack ?? String(err)}`);
    sendError(reply, 500, 'internal error; the agent log has the details');
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, `no such endpoint: ${request.method} ${request.url.split('?')[0]}`),
  );

  const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, LocalApiError]));
  const idOf = (request: FastifyRequest) => parseIdParams(request.params).id;

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get(
    '/v1/status',
    { schema: { summary: 'The agent, its relay link and its printers', response: { 200: AgentView } } },
    async () => target.view(),
  );

  app.get(
    '/v1/jobs',
    {
      schema: {
        summary: 'Jobs at this store, newest first',
        querystring: JobsQuery,
        response: { 200: JobList, ...errors(400) },
      },
    },
    async (request) => {
      const q = parseJobsQuery(request.query ?? {});
      return {
        jobs: target.listJobs({
          ...(q.state === undefined ? {} : { state: q.state }),
          ...(q.limit === undefined ? {} : { limit: Number(q.limit) }),
        }),
      };
    },
  );

  app.get(
    '/v1/jobs/:id',
    { schema: { summary: 'One job', params: IdParams, response: { 200: LocalJobView, ...errors(404) } } },
    async (request) => {
      const id = idOf(request);
      const job = target.getJob(id);
      if (!job) throw new HttpError(404, `no job ${id} at this store (jobs are kept 7 days)`);
      return job;
    },
  );

  app.post(
    '/v1/printers/:id/test-print',
    {
      schema: {
        summary: 'Print a test ticket on this printer',
        params: IdParams,
        response: { 202: LocalJobView, ...errors(404, 409) },
      },
    },
    async (request, reply) => reply.code(202).send(target.testPrint(idOf(request))),
  );

  app.post(
    '/v1/jobs/:id/reprint',
    {
      schema: {
        summary: 'Print a finished job again, marked REPRINT',
        params: IdParams,
        response: { 201: LocalJobView, ...errors(404, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(target.reprint(idOf(request))),
  );

  for (const decision of ['print', 'discard'] as const) {
    app.post(
      `/v1/jobs/:id/${decision}`,
      {
        schema: {
          summary:
            decision === 'print'
              ? 'Print a held job (its expiry passed while it waited)'
              : 'Discard a held job: it is reported cancelled',
          params: IdParams,
          response: { 200: LocalJobView, ...errors(404, 409) },
        },
      },
      async (request) => target.decideHeld(idOf(request), decision),
    );
  }

  try {
    await app.listen({ host: HOST, port: opts.port });
  } catch (err) {
    await app.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new Error(
        `local API: port ${opts.port} on ${HOST} is in use (another agent?); set localApi.port in the config, 0 for any free port, or null for none`,
      );
    }
    throw err;
  }
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://${HOST}:${port}`, close: () => app.close() };
}
