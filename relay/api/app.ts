// The relay's HTTP API (fastify): JSON in and out, API-key auth, OpenAPI at /openapi.json.
// Schemas on the routes document the API; handlers validate explicitly with the protocol
// validators so that every error names the field (see ./errors.ts for the error shape).
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { JobStateEvent, PrinterStatusEvent, WEBHOOK_SIGNATURE_DOC } from '../../protocol/webhooks.js';
import type { Log } from '../../shared/log.js';
import { version } from '../../shared/version.js';
import type { AdminContext } from '../admin.js';
import { type DashboardPluginDeps, registerDashboard } from '../dashboard/plugin.js';
import type { JobService } from '../jobs.js';
import type { ListenerInfo } from '../listeners.js';
import type { RelayMetrics } from '../metrics.js';
import type { OrderService } from '../orders/orders.js';
import type { TemplateService } from '../orders/templates.js';
import type { Directory, JobStore } from '../store/job-store.js';
import { requireApiKey } from './auth.js';
import { HttpError, installErrorHandling } from './errors.js';
import { registerJobRoutes } from './routes-jobs.js';
import { registerOrderRoutes } from './routes-orders.js';
import { registerEnrolRoute, registerStoreRoutes } from './routes-stores.js';
import { registerTemplateRoutes } from './routes-templates.js';

export interface ApiDeps extends DashboardPluginDeps {
  directory: Directory;
  /** For enrolment, which replaces a store's agent credentials. */
  admin: AdminContext;
  jobs: JobStore;
  service: JobService;
  orders: OrderService;
  templates: TemplateService;
  /** Largest accepted request body; bigger ones get a 413. */
  bodyLimit: number;
  limits?: Partial<HttpLimits>;
  /** The relay's listeners, for /healthz and for telling an enrolling agent where to connect. */
  listeners: () => ListenerInfo[];
  /** Why the MQTT broker cannot carry messages just now (Redis unreachable), or null. */
  brokerProblem: () => string | null;
  metrics: RelayMetrics;
  log: Log;
}

/** What one client may cost the relay over HTTP. */
export interface HttpLimits {
  /** A request whose headers and body have not all arrived by then is closed (408). */
  requestTimeoutMs: number;
  /** A connection with no traffic for this long is closed. */
  idleTimeoutMs: number;
  /** Enrolment attempts (each costs a slow hash) per client address, and for everyone together. */
  enrolPerAddress: { max: number; windowMs: number };
  enrolGlobal: { max: number; windowMs: number };
}

export const defaultHttpLimits: HttpLimits = {
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  enrolPerAddress: { max: 10, windowMs: 60_000 },
  enrolGlobal: { max: 60, windowMs: 60_000 },
};

/** One webhook in the OpenAPI document: what the relay POSTs and how to check it. */
function webhookDoc(summary: string, schema: string) {
  return {
    post: {
      summary,
      description: WEBHOOK_SIGNATURE_DOC,
      parameters: ['X-Printrelay-Signature', 'X-Printrelay-Event-Id', 'X-Printrelay-Event-Type'].map(
        (name) => ({
          name,
          in: 'header' as const,
          required: true,
          schema: { type: 'string' as const },
        }),
      ),
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } },
      },
      responses: { '2XX': { description: 'Received; anything else is retried with the same event id.' } },
      security: [],
    },
  };
}

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const limits = { ...defaultHttpLimits, ...deps.limits };
  const app = Fastify({
    bodyLimit: deps.bodyLimit,
    logger: false,
    return503OnClosing: true,
    // A body trickled a byte at a time must not hold a connection: Node closes requests that
    // take longer than requestTimeout, checked every connectionsCheckingInterval.
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    http: { connectionsCheckingInterval: Math.min(1000, limits.requestTimeoutMs) },
  });
  // Node checks neither timeout while headersTimeout is above requestTimeout (its default is 60 s).
  app.server.headersTimeout = Math.min(10_000, limits.requestTimeoutMs);
  // Counters in bounded LRU maps (see enrolThrottle in ./routes-stores.ts).
  await app.register(rateLimit, { global: false });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'printrelay relay API',
        version,
        description:
          'Send tickets to store printers and follow them until printed. Authenticate with ' +
          '"Authorization: Bearer <API key>" (make one with `printrelay relay keys add`).',
      },
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } },
        schemas: { JobStateEvent, PrinterStatusEvent },
      },
      security: [{ apiKey: [] }],
      webhooks: {
        'job.state': webhookDoc('A job changed state', 'JobStateEvent'),
        'printer.status': webhookDoc(
          'A printer became ready or not ready, or its condition changed',
          'PrinterStatusEvent',
        ),
      },
    },
    // Shared schemas appear under their own names (Ticket, ApiError, ...), not def-0.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    // The plugin marks every body it documents as required; a reprint may come without one.
    transformObject: (documents) => {
      const doc = 'openapiObject' in documents ? documents.openapiObject : documents.swaggerObject;
      const reprint = (doc.paths as Record<string, { post?: { requestBody?: { required?: boolean } } }>)?.[
        '/v1/jobs/{id}/reprint'
      ]?.post?.requestBody;
      if (reprint) reprint.required = false;
      return doc;
    },
  });

  // Validation happens in the handlers (see above); responses are plain JSON.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // JSON only (anything else is a 415). An empty body with Content-Type application/json
  // (common for POST .../cancel) is no body. Keys that would reach an object's prototype
  // when merged (__proto__, constructor.prototype) are refused, and every error says why.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, secureJson.parse(body as string, { protoAction: 'error', constructorAction: 'error' }));
    } catch (err) {
      const message = /forbidden prototype/.test((err as Error).message)
        ? 'request body has a "__proto__" or "constructor": {"prototype": ...} key, which is not allowed as a key'
        : `request body is not valid JSON: ${(err as Error).message}`;
      done(new HttpError(400, message), undefined);
    }
  });

  installErrorHandling(app, { bodyLimit: deps.bodyLimit, log: deps.log });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
    reply.header('referrer-policy', 'no-referrer');
    // JSON answers never need to load anything or be framed; a page served later sets its own.
    if (!reply.hasHeader('content-security-policy'))
      reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    // A refused client gets its answer and the connection closes: nothing more it sends, such
    // as the rest of a slow body, is read.
    if (reply.statusCode === 401 || reply.statusCode === 429) reply.header('connection', 'close');
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // Which listeners are plain, so that a monitor can alert on credentials sent in clear.
  app.get('/healthz', { schema: { hide: true } }, async () => {
    const listeners = deps.listeners();
    return { ok: true, listeners, plain: listeners.filter((l) => !l.tls).map((l) => l.kind) };
  });
  // For a load balancer: 200 while this process can take orders (its store answers, its broker
  // listens), else 503 naming what is wrong. No key: it says nothing about any store.
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const checks: Record<string, string> = {};
    try {
      await deps.jobs.storeOfJob('readyz');
      checks.store = 'ok';
    } catch (err) {
      checks.store = `not answering: ${err instanceof Error ? err.message : String(err)}`;
    }
    const mqtt = deps.listeners().some((l) => l.kind === 'mqtt' || l.kind === 'mqtts');
    checks.broker = mqtt ? (deps.brokerProblem() ?? 'ok') : 'no MQTT listener';
    const ready = Object.values(checks).every((c) => c === 'ok');
    return reply.code(ready ? 200 : 503).send({ ready, checks });
  });
  // How long each accepted job took to answer: from the request to its 201.
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode === 201 && request.method === 'POST' && request.routeOptions.url === '/v1/jobs')
      deps.metrics.accepted(reply.elapsedTime / 1000);
  });
  registerEnrolRoute(app, {
    admin: deps.admin,
    listeners: () => Object.fromEntries(deps.listeners().map((l) => [l.kind, l.url])),
    limits,
  });
  await registerDashboard(app, deps);

  await app.register(async (secured) => {
    secured.addHook('onRequest', requireApiKey(deps.directory));
    // Metrics cover every store: only a key for all stores may read them.
    secured.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      if (request.apiKey.stores !== 'all')
        throw new HttpError(403, 'metrics cover every store: use an API key made with --stores all');
      const { type, body } = await deps.metrics.scrape();
      return reply.type(type).send(body);
    });
    registerJobRoutes(secured, deps);
    registerOrderRoutes(secured, deps);
    registerTemplateRoutes(secured, deps);
    registerStoreRoutes(secured, deps);
  });
  return app;
}
