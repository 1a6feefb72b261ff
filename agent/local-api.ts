// The agent's local HTTP API for the store (store page, tray app, POS, a person with curl):
// status, jobs, test print, reprint, decisions on held/failed/uncertain jobs, pause; and the
// store page itself at /. Loopback only, and only for requests that name loopback in Host (a
// web page cannot reach it through DNS rebinding) and come from no other site (a web page
// cannot make the store print through a cross-site POST: Origin, when sent, must be this API's
// own, and Sec-Fetch-Site must not say another site). OpenAPI at /openapi.json.
import type { AddressInfo } from 'node:net';
import swagger from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { ApiError, apiError } from '../protocol/api.js';
import { ValidationError, type ValidationIssue, validator } from '../protocol/validate.js';
import { consoleLog, type Log } from '../shared/log.js';
import { version } from '../shared/version.js';
import { AgentRequestError } from './request-error.js';
import { registerStorePage, STORE_PAGE_DIR } from './store-page/serve.js';
import { AgentView, type LocalJobState, LocalJobStateSchema, LocalJobView } from './views.js';

/** What the local API needs of the agent (agent/agent.ts Agent implements it). */
export interface LocalApiTarget {
  view(): AgentView;
  listJobs(filter?: { state?: LocalJobState; limit?: number }): LocalJobView[];
  getJob(jobId: string): LocalJobView | undefined;
  testPrint(printerId: string): LocalJobView;
  reprint(jobId: string): LocalJobView;
  reprintLast(): LocalJobView;
  needingDecision(): LocalJobView[];
  decide(jobId: string, decision: 'print' | 'discard'): LocalJobView;
  setPrintingPaused(paused: boolean): void;
}

export interface LocalApiOptions {
  /** On 127.0.0.1; 0 picks a free port. */
  port: number;
  log?: Log;
  /** The built store page (index.html and its assets); default STORE_PAGE_DIR. */
  pageDir?: string;
}

export interface LocalApi {
  /** http://127.0.0.1:PORT */
  url: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
/** What an HTML form can send: a web page can post these to any site without asking it first. */
const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
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
const PrintingState = Type.Object({ printingPaused: Type.Boolean() });

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

/** This API's own origin (the store page's): loopback by name or address, on our port. */
function isOwnOrigin(origin: string, port: number): boolean {
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' && LOOPBACK_NAMES.has(u.hostname.toLowerCase()) && Number(u.port) === port;
  } catch {
    return false;
  }
}

/** The guard against web pages: see the top of this file. `port`: the one we listen on. */
function refusal(request: FastifyRequest, port: number): string | null {
  const host = request.headers.host;
  if (!host || !LOOPBACK_NAMES.has(hostName(host))) {
    return `Host ${JSON.stringify(host ?? '')} is not allowed: use http://${HOST}:PORT or http://localhost:PORT`;
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !isOwnOrigin(origin, port)) {
    return `requests from web pages of other sites are not allowed (Origin ${JSON.stringify(origin)})`;
  }
  // Browsers say where a request comes from even when they send no Origin (a GET, a form).
  const site = request.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') {
    return `requests from web pages of other sites are not allowed (Sec-Fetch-Site: ${site})`;
  }
  // A browser old enough to send neither still sends a form's own content type; no endpoint
  // takes a form (or any body but JSON), so a POST that looks like one is not taken.
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (request.method === 'POST' && type !== undefined && FORM_TYPES.has(type)) {
    return `form posts are not accepted (Content-Type ${type}): send no body, or JSON`;
  }
  return null;
}

function sendError(reply: FastifyReply, status: number, message: string, issues?: ValidationIssue[]): void {
  void reply
    .code(status)
    .type('application/json')
    .send(apiError(status, message, issues));
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
    // Nothing here may be framed by another page or run another site's script.
    void reply.headers(SECURITY_HEADERS);
    const why = refusal(request, (app.server.address() as AddressInfo).port);
    if (why) {
      sendError(reply, 403, why);
      return reply;
    }
  });

  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    if (err instanceof AgentRequestError || err instanceof HttpError)
      return sendError(reply, err.status, err.message);
    if (err instanceof ValidationError) return sendError(reply, 400, err.message, err.issues);
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

  const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, ApiError]));
  const idOf = (request: FastifyRequest) => parseIdParams(request.params).id;

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  registerStorePage(app, opts.pageDir ?? STORE_PAGE_DIR);

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

  app.post(
    '/v1/last-ticket/reprint',
    {
      schema: {
        summary: 'Print the order ticket printed last again, marked REPRINT',
        response: { 201: LocalJobView, ...errors(404, 409) },
      },
    },
    async (_request, reply) => reply.code(201).send(target.reprintLast()),
  );

  app.get(
    '/v1/attention',
    {
      schema: {
        summary: 'Jobs waiting for a decision (print or discard): held, and failed or uncertain ones',
        response: { 200: JobList },
      },
    },
    async () => ({ jobs: target.needingDecision() }),
  );

  for (const decision of ['print', 'discard'] as const) {
    app.post(
      `/v1/jobs/:id/${decision}`,
      {
        schema: {
          summary:
            decision === 'print'
              ? 'Print a held job as it is (its expiry passed while it waited), or a failed or uncertain one again, marked REPRINT'
              : 'Discard a held job (it is reported cancelled), or set a failed or uncertain one aside',
          params: IdParams,
          response: { 200: LocalJobView, ...errors(404, 409) },
        },
      },
      async (request) => target.decide(idOf(request), decision),
    );
  }

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post(
      `/v1/printing/${action}`,
      {
        schema: {
          summary: paused
            ? 'Pause printing: jobs wait in the queue (until resumed or the agent restarts)'
            : 'Resume printing',
          response: { 200: PrintingState },
        },
      },
      async () => {
        target.setPrintingPaused(paused);
        return { printingPaused: paused };
      },
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
