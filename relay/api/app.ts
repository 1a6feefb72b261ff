// The relay's HTTP API (fastify): JSON in and out, API-key auth, OpenAPI at /openapi.json.
// Schemas on the routes document the API; handlers validate explicitly with the protocol
// validators so that every error names the field (see ./errors.ts for the error shape).
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Log } from '../../shared/log.js';
import { version } from '../../shared/version.js';
import type { AdminContext } from '../admin.js';
import { type DashboardPluginDeps, registerDashboard } from '../dashboard/plugin.js';
import type { JobService } from '../jobs.js';
import type { ListenerInfo } from '../listeners.js';
import type { Directory, JobStore } from '../store/job-store.js';
import { requireApiKey } from './auth.js';
import { installErrorHandling } from './errors.js';
import { registerJobRoutes } from './routes-jobs.js';
import { registerEnrolRoute, registerStoreRoutes } from './routes-stores.js';

export interface ApiDeps extends DashboardPluginDeps {
  directory: Directory;
  /** For enrolment, which replaces a store's agent credentials. */
  admin: AdminContext;
  jobs: JobStore;
  service: JobService;
  /** Largest accepted request body; bigger ones get a 413. */
  bodyLimit: number;
  /** The relay's listeners, for /healthz and for telling an enrolling agent where to connect. */
  listeners: () => ListenerInfo[];
  log: Log;
}

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({ bodyLimit: deps.bodyLimit, logger: false, return503OnClosing: true });

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
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
    // Shared schemas appear under their own names (Ticket, ApiError, ...), not def-0.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });

  // Validation happens in the handlers (see above); responses are plain JSON.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // JSON only (anything else is a 415). An empty body with Content-Type application/json
  // (common for POST .../cancel) is no body.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    jsonParser(request, body as string, done);
  });

  installErrorHandling(app, { bodyLimit: deps.bodyLimit, log: deps.log });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // Which listeners are plain, so that a monitor can alert on credentials sent in clear.
  app.get('/healthz', { schema: { hide: true } }, async () => {
    const listeners = deps.listeners();
    return { ok: true, listeners, plain: listeners.filter((l) => !l.tls).map((l) => l.kind) };
  });
  registerEnrolRoute(app, {
    admin: deps.admin,
    listeners: () => Object.fromEntries(deps.listeners().map((l) => [l.kind, l.url])),
  });
  await registerDashboard(app, deps);

  await app.register(async (secured) => {
    secured.addHook('onRequest', requireApiKey(deps.directory));
    registerJobRoutes(secured, deps);
    registerStoreRoutes(secured, deps);
  });
  return app;
}
