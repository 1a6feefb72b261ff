// The HQ dashboard, served by the relay on the API's port under /hq: the page shell and its
// bundle (built by scripts/bundle.js into dist/hq), sign-in and sign-out, the JSON endpoints
// (routes.ts) and the live feed (live.ts). Nothing but the sign-in page and the bundle (no
// data in it) is served without a session; every request that changes something must come
// from the dashboard's own pages (session.ts).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../api/errors.js';
import type { ChangeFeed } from '../store/changes.js';
import { LiveFeed } from './live.js';
import { type DashboardDeps, registerDashboardRoutes } from './routes.js';
import { assertSameOrigin, Sessions, SignInThrottle } from './session.js';
import { checkPassword } from './users.js';

export interface DashboardPluginDeps extends DashboardDeps {
  changes: ChangeFeed;
}

const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

const HISTORY_DAYS = 90;

const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/**
 * dist/hq, found from wherever this module runs: the CLI bundle (dist/printrelay.mjs), the
 * compiled tree (dist/relay/dashboard/) or the sources (relay/dashboard/, next to dist/).
 */
function findBundle(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    for (const candidate of [join(dir, 'hq'), join(dir, 'dist', 'hq')]) {
      if (existsSync(join(candidate, 'app.js'))) return candidate;
    }
    dir = dirname(dir);
  }
  return null;
}

function pageHtml(): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>printrelay HQ</title>
<link rel="stylesheet" href="/hq/assets/app.css">
<script type="module" src="/hq/assets/app.js"></script>
</head>
<body><div id="app"></div></body>
</html>
`;
}

export async function registerDashboard(app: FastifyInstance, deps: DashboardPluginDeps): Promise<void> {
  const sessions = new Sessions(deps.dashboard);
  const throttle = new SignInThrottle();
  const live = new LiveFeed(deps.changes);
  const bundle = findBundle();
  const assets = new Map<string, Buffer>();
  const html = pageHtml();
  // Hourly: expired sessions go, and printer status history older than 90 days.
  const sweep = setInterval(() => {
    void sessions.sweep().catch(() => {});
    void deps.dashboard.pruneHistory(Date.now() - HISTORY_DAYS * 24 * 3600_000).catch(() => {});
  }, 3600_000);
  sweep.unref();
  app.addHook('preClose', async () => {
    clearInterval(sweep);
    live.close();
  });

  await app.register(async (hq) => {
    // Dashboard routes are not part of the public API description.
    hq.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, hide: true };
    });
    hq.addHook('onSend', async (_request, reply) => {
      if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
    });

    const sendPage = (reply: FastifyReply) =>
      reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(html);

    hq.get('/', async (_request, reply) => reply.redirect('/hq/'));
    hq.get('/hq', async (_request, reply) => reply.redirect('/hq/'));
    hq.get('/hq/login', async (request, reply) => {
      if (await sessions.of(request)) return reply.redirect('/hq/');
      return sendPage(reply);
    });
    hq.get('/hq/*', async (request, reply) => {
      const path = (request.params as { '*': string })['*'];
      if (path.startsWith('api/'))
        throw new HttpError(404, `no such endpoint: GET ${request.url.split('?')[0]}`);
      if (path.startsWith('assets/')) {
        const name = path.slice('assets/'.length);
        const type = ASSETS[name];
        if (!type) throw new HttpError(404, `no asset ${name}`);
        if (!bundle) throw new HttpError(503, 'the dashboard is not built: run `npm run build`');
        return reply
          .type(type)
          .header('cache-control', 'no-cache')
          .header('x-content-type-options', 'nosniff')
          .send(assets.get(name) ?? assets.set(name, readFileSync(join(bundle, name))).get(name));
      }
      if (!(await sessions.of(request))) {
        return reply.redirect(`/hq/login?next=${encodeURIComponent(request.url)}`);
      }
      return sendPage(reply);
    });

    hq.post('/hq/api/login', async (request, reply) => {
      assertSameOrigin(request);
      const b = (request.body ?? {}) as { name?: unknown; password?: unknown };
      if (typeof b.name !== 'string' || typeof b.password !== 'string' || b.password.length > 1000) {
        throw new HttpError(400, 'send {"name": ..., "password": ...}');
      }
      const keys = SignInThrottle.keys(b.name, request.ip);
      const wait = throttle.waitMs(keys);
      if (wait > 0) {
        void reply.header('retry-after', String(Math.ceil(wait / 1000)));
        throw new HttpError(429, `too many wrong passwords: try again in ${Math.ceil(wait / 1000)} s`);
      }
      const user = await checkPassword(deps.dashboard, b.name, b.password);
      if (!user) {
        throttle.failed(keys);
        throw new HttpError(401, 'wrong user name or password');
      }
      throttle.succeeded(keys);
      await sessions.start(user, request, reply);
      await deps.dashboard.addAudit({
        at: Date.now(),
        user: user.name,
        action: 'user.sign-in',
        storeId: null,
        target: null,
        detail: request.ip,
      });
      return { name: user.name, role: user.role, stores: user.stores };
    });

    hq.post('/hq/api/logout', async (request, reply) => {
      assertSameOrigin(request);
      await sessions.end(await sessions.of(request), request, reply);
      return { signedOut: true };
    });

    // Everything else under /hq/api needs a session.
    await hq.register(async (secured) => {
      secured.addHook('onRequest', async (request: FastifyRequest) => {
        const signedIn = await sessions.of(request);
        if (!signedIn) throw new HttpError(401, 'sign in first');
        if (request.method !== 'GET' && request.method !== 'HEAD') assertSameOrigin(request);
        request.hqUser = signedIn.user;
      });
      secured.get('/hq/api/live', async (request, reply) => {
        live.serve(request, reply, request.hqUser.stores, async () => (await sessions.of(request)) !== null);
      });
      registerDashboardRoutes(secured, deps);
    });
  });
}
