// The agent's local HTTP API for the store (store page, tray app, POS, a person with curl):
// status, jobs, test print, reprint, decisions on held/failed/uncertain jobs, pause; and the
// store page itself at /. Loopback only, and only for requests that name loopback in Host (a
// web page cannot reach it through DNS rebinding) and come from no other site (a web page
// cannot make the store print through a cross-site POST: Origin, when sent, must be this API's
// own, and Sec-Fetch-Site must not say another site). OpenAPI at /openapi.json.
//
// Plain node:http rather than fastify (which the relay uses): a dozen fixed routes without
// bodies do not need a framework, and on a low-spec cashier PC fastify with its OpenAPI plugin
// cost the idle agent about 8 MB (docs/installers.md, Footprint).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TSchema, Type } from '@sinclair/typebox';
import { ApiError, apiError, IdParams, parseIdParams } from '../protocol/api.js';
import { ValidationError, type ValidationIssue, validator } from '../protocol/validate.js';
import { consoleLog, type Log } from '../shared/log.js';
import { version } from '../shared/version.js';
import { agentMetrics } from './metrics.js';
import { AgentRequestError } from './request-error.js';
import { STORE_PAGE_DIR, storePageFiles } from './store-page/serve.js';
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
/** No endpoint takes a body; an empty JSON one (curl -H ... -d '') is accepted, a big one is not. */
const BODY_LIMIT = 64 * 1024;
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

/** What a handler answers: a JSON body, or a file of the store page. */
type Reply = { status: number; json: unknown } | { status: number; type: string; body: Buffer | string };

interface Request {
  /** Path parameters (":id"), decoded. */
  params: Record<string, string>;
  /** Query string; a repeated key gives an array, which the schemas refuse. */
  query: Record<string, string | string[]>;
}

interface Route {
  method: 'GET' | 'POST';
  /** Segments; ":name" takes one. */
  path: string;
  /** For /openapi.json; a route without one (the store page) is not documented. */
  doc?: {
    summary: string;
    params?: TSchema;
    query?: TSchema;
    /** Status -> body schema. */
    responses: Record<number, TSchema>;
  };
  handle(request: Request): Reply | Promise<Reply>;
}

const json = (status: number, body: unknown): Reply => ({ status, json: body });
const errorReply = (status: number, message: string, issues?: ValidationIssue[]): Reply =>
  json(status, apiError(status, message, issues));

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
function refusal(request: IncomingMessage, port: number): string | null {
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
  const type = contentType(request);
  if (request.method === 'POST' && type !== undefined && FORM_TYPES.has(type)) {
    return `form posts are not accepted (Content-Type ${type}): send no body, or JSON`;
  }
  return null;
}

function contentType(request: IncomingMessage): string | undefined {
  return request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
}

/** Reads (and drops) the body: an error reply when it is too big or not JSON. */
async function checkBody(request: IncomingMessage): Promise<Reply | null> {
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) return errorReply(413, `the request body is over ${BODY_LIMIT} bytes`);
  }
  if (size > 0 && contentType(request) !== 'application/json') {
    return errorReply(415, 'no endpoint here takes a body: send none, or JSON');
  }
  return null;
}

function match(route: Route, segments: string[]): Record<string, string> | null {
  const parts = route.path.split('/');
  if (parts.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of parts.entries()) {
    const segment = segments[i] as string;
    if (part.startsWith(':')) {
      try {
        params[part.slice(1)] = decodeURIComponent(segment);
      } catch {
        return null;
      }
    } else if (part !== segment) return null;
  }
  return params;
}

function queryOf(search: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(search.keys())) {
    const values = search.getAll(key);
    query[key] = values.length === 1 ? (values[0] as string) : values;
  }
  return query;
}

/** The OpenAPI document of the documented routes. */
function openApi(routes: Route[]): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  const parameters = (schema: TSchema | undefined, where: 'path' | 'query') =>
    Object.entries((schema?.properties ?? {}) as Record<string, TSchema>).map(([name, s]) => ({
      name,
      in: where,
      required: where === 'path' || (schema?.required ?? []).includes(name),
      schema: s,
    }));
  for (const route of routes) {
    if (!route.doc) continue;
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    const { summary, params, query, responses } = route.doc;
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[route.method.toLowerCase()] = {
      summary,
      parameters: [...parameters(params, 'path'), ...parameters(query, 'query')],
      responses: Object.fromEntries(
        Object.entries(responses).map(([status, schema]) => [
          status,
          { description: Number(status) < 400 ? 'OK' : 'Error', content: { 'application/json': { schema } } },
        ]),
      ),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'printrelay store agent local API',
      version,
      description: `Status, jobs, test prints and reprints at the store. Listens on ${HOST} only.`,
    },
    paths,
  };
}

function routesFor(target: LocalApiTarget, pageDir: string): Route[] {
  const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, ApiError]));
  const idOf = (request: Request) => parseIdParams(request.params).id;
  const page = storePageFiles(pageDir);
  const routes: Route[] = [
    {
      method: 'GET',
      path: '/',
      handle: async () => {
        const file = await page.index();
        if (file) return { status: 200, ...file };
        return {
          status: 404,
          type: 'text/plain; charset=utf-8',
          body: `门店页面未构建 / The store page is not built: run npm run build (looked in ${pageDir})`,
        };
      },
    },
    {
      method: 'GET',
      path: '/assets/:name',
      handle: async (request) => {
        const file = await page.asset(request.params.name as string);
        return file ? { status: 200, ...file } : errorReply(404, 'no such file of the store page');
      },
    },
    {
      method: 'GET',
      path: '/v1/status',
      doc: { summary: 'The agent, its relay link and its printers', responses: { 200: AgentView } },
      handle: () => json(200, target.view()),
    },
    {
      method: 'GET',
      path: '/metrics',
      handle: async () => ({ status: 200, ...(await agentMetrics(target.view())) }),
    },
    {
      method: 'GET',
      path: '/v1/jobs',
      doc: {
        summary: 'Jobs at this store, newest first',
        query: JobsQuery,
        responses: { 200: JobList, ...errors(400) },
      },
      handle: (request) => {
        const q = parseJobsQuery(request.query);
        return json(200, {
          jobs: target.listJobs({
            ...(q.state === undefined ? {} : { state: q.state }),
            ...(q.limit === undefined ? {} : { limit: Number(q.limit) }),
          }),
        });
      },
    },
    {
      method: 'GET',
      path: '/v1/jobs/:id',
      doc: { summary: 'One job', params: IdParams, responses: { 200: LocalJobView, ...errors(404) } },
      handle: (request) => {
        const id = idOf(request);
        const job = target.getJob(id);
        if (!job) throw new HttpError(404, `no job ${id} at this store (jobs are kept 7 days)`);
        return json(200, job);
      },
    },
    {
      method: 'POST',
      path: '/v1/printers/:id/test-print',
      doc: {
        summary: 'Print a test ticket on this printer',
        params: IdParams,
        responses: { 202: LocalJobView, ...errors(404, 409) },
      },
      handle: (request) => json(202, target.testPrint(idOf(request))),
    },
    {
      method: 'POST',
      path: '/v1/jobs/:id/reprint',
      doc: {
        summary: 'Print a finished job again, marked REPRINT',
        params: IdParams,
        responses: { 201: LocalJobView, ...errors(404, 409) },
      },
      handle: (request) => json(201, target.reprint(idOf(request))),
    },
    {
      method: 'POST',
      path: '/v1/last-ticket/reprint',
      doc: {
        summary: 'Print the order ticket printed last again, marked REPRINT',
        responses: { 201: LocalJobView, ...errors(404, 409) },
      },
      handle: () => json(201, target.reprintLast()),
    },
    {
      method: 'GET',
      path: '/v1/attention',
      doc: {
        summary: 'Jobs waiting for a decision (print or discard): held, and failed or uncertain ones',
        responses: { 200: JobList },
      },
      handle: () => json(200, { jobs: target.needingDecision() }),
    },
  ];
  for (const decision of ['print', 'discard'] as const) {
    routes.push({
      method: 'POST',
      path: `/v1/jobs/:id/${decision}`,
      doc: {
        summary:
          decision === 'print'
            ? 'Print a held job as it is (its expiry passed while it waited), or a failed or uncertain one again, marked REPRINT'
            : 'Discard a held job (it is reported cancelled), or set a failed or uncertain one aside',
        params: IdParams,
        responses: { 200: LocalJobView, ...errors(404, 409) },
      },
      handle: (request) => json(200, target.decide(idOf(request), decision)),
    });
  }
  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    routes.push({
      method: 'POST',
      path: `/v1/printing/${action}`,
      doc: {
        summary: paused
          ? 'Pause printing: jobs wait in the queue (until resumed or the agent restarts)'
          : 'Resume printing',
        responses: { 200: PrintingState },
      },
      handle: () => {
        target.setPrintingPaused(paused);
        return json(200, { printingPaused: paused });
      },
    });
  }
  const document = openApi(routes);
  routes.push({ method: 'GET', path: '/openapi.json', handle: () => json(200, document) });
  return routes;
}

export async function startLocalApi(target: LocalApiTarget, opts: LocalApiOptions): Promise<LocalApi> {
  const log = opts.log ?? consoleLog;
  const routes = routesFor(target, opts.pageDir ?? STORE_PAGE_DIR);
  let closing = false;

  const answer = async (request: IncomingMessage, port: number): Promise<Reply> => {
    if (closing) return errorReply(503, 'the agent is stopping');
    const why = refusal(request, port);
    if (why) return errorReply(403, why);
    const bodyProblem = await checkBody(request);
    if (bodyProblem) return bodyProblem;
    const url = new URL(request.url ?? '/', `http://${HOST}`);
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    const segments = url.pathname.split('/');
    for (const route of routes) {
      if (route.method !== method) continue;
      const params = match(route, segments);
      if (params) return route.handle({ params, query: queryOf(url.searchParams) });
    }
    return errorReply(404, `no such endpoint: ${request.method} ${url.pathname}`);
  };

  const send = (request: IncomingMessage, response: ServerResponse, reply: Reply): void => {
    const [type, body] =
      'json' in reply
        ? ['application/json; charset=utf-8', JSON.stringify(reply.json)]
        : [reply.type, reply.body];
    response.writeHead(reply.status, {
      ...SECURITY_HEADERS,
      'content-type': type,
      'content-length': Buffer.byteLength(body),
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  };

  const server = createServer((request, response) => {
    const port = (server.address() as AddressInfo).port;
    answer(request, port)
      .catch((err: unknown): Reply => {
        if (err instanceof AgentRequestError || err instanceof HttpError)
          return errorReply(err.status, err.message);
        if (err instanceof ValidationError) return errorReply(400, err.message, err.issues);
        log.error(
          `local API ${request.method} ${request.url}: ${err instanceof Error ? err.stack : String(err)}`,
        );
        return errorReply(500, 'internal error; the agent log has the details');
      })
      .then((reply) => send(request, response, reply))
      .catch((err: unknown) => {
        log.error(`local API ${request.method} ${request.url}: cannot answer: ${String(err)}`);
        response.destroy();
      });
  });
  // As fastify had it: longer than clients keep idle connections (undici: 4 s), so that the
  // server never closes one just as a client sends on it (a reset, not an answer).
  server.keepAliveTimeout = 72_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new Error(
        `local API: port ${opts.port} on ${HOST} is in use (another agent?); set localApi.port in the config, 0 for any free port, or null for none`,
      );
    }
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${HOST}:${port}`,
    close: async () => {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
    },
  };
}
