// The JSON endpoints the dashboard's pages use, under /hq/api. Every one runs for a signed-in
// user only (see plugin.ts), shows only the user's stores, and checks the user's role before
// acting; every action is written to the audit log.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RenderError } from '../../escpos/layout.js';
import { ticketPicture } from '../../escpos/picture.js';
import { getProfile } from '../../escpos/profiles/index.js';
import { type JobView, parseJobRequest } from '../../protocol/job.js';
import type { PrinterHealth, PrinterInfo } from '../../protocol/messages.js';
import type { Ticket } from '../../protocol/ticket.js';
import { printerCondition } from '../../shared/printer-state.js';
import { addApiKey, addStore, addWebhook, parseWebhookEvents } from '../admin.js';
import { HttpError } from '../api/errors.js';
import type { Dispatcher } from '../dispatcher.js';
import type { JobService } from '../jobs.js';
import type { OrderService } from '../orders/orders.js';
import type { TemplateService } from '../orders/templates.js';
import type { DashboardStore, Role, UserRecord } from '../store/dashboard-store.js';
import {
  type Directory,
  type JobRecord,
  type JobStore,
  type StoreScope,
  scopeIncludes,
} from '../store/job-store.js';
import { registerDashboardOrderRoutes } from './routes-orders.js';
import { addUser, parseRole } from './users.js';

export interface DashboardDeps {
  directory: Directory;
  jobs: JobStore;
  service: JobService;
  dispatcher: Dispatcher;
  dashboard: DashboardStore;
  orders: OrderService;
  templates: TemplateService;
}

declare module 'fastify' {
  interface FastifyRequest {
    hqUser: UserRecord;
  }
}

const PAGE_MAX = 200;
const DAY_MS = 24 * 3600_000;
/** Printed with the shipped 80 mm clone's profile when the job's printer named none. */
const FALLBACK_PROFILE = 'xprinter-80';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** 403 unless the user's role allows `needed`. */
export function requireRole(request: FastifyRequest, needed: Role): void {
  if (RANK[request.hqUser.role] < RANK[needed]) {
    throw new HttpError(403, `your role (${request.hqUser.role}) may not do this; it needs ${needed}`);
  }
}

export type Body = Record<string, unknown>;

export function body(request: FastifyRequest): Body {
  const b = request.body;
  if (b === undefined) return {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new HttpError(400, 'send a JSON object');
  return b as Body;
}

export function text(b: Body, field: string, required = true): string | undefined {
  const v = b[field];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v.trim() === '') {
    throw new HttpError(400, `${field} is required and must be text`, [
      { path: `/${field}`, message: 'required text' },
    ]);
  }
  return v.trim();
}

function parseScope(b: Body): StoreScope {
  const v = b.stores ?? 'all';
  if (v === 'all') return 'all';
  if (Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string')) return v as string[];
  throw new HttpError(400, 'stores must be "all" or a list of store ids', [
    { path: '/stores', message: 'invalid' },
  ]);
}

function int(value: unknown, fallback: number, max: number): number {
  const n = Number(value ?? fallback);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, max) : fallback;
}

export function registerDashboardRoutes(app: FastifyInstance, deps: DashboardDeps): void {
  const { directory, jobs, service, dashboard } = deps;
  registerDashboardOrderRoutes(app, deps);

  const audit = (
    request: FastifyRequest,
    action: string,
    storeId: string | null,
    target: string | null,
    detail: string | null = null,
  ) => dashboard.addAudit({ at: Date.now(), user: request.hqUser.name, action, storeId, target, detail });

  /** The store if the user may see it; 404 otherwise (a scoped user never learns other stores exist). */
  async function visibleStore(request: FastifyRequest, id: string) {
    const store = scopeIncludes(request.hqUser.stores, id) ? await directory.getStore(id) : null;
    if (!store) throw new HttpError(404, `no store ${JSON.stringify(id)}`);
    return store;
  }

  async function visibleJob(request: FastifyRequest, id: string): Promise<JobRecord> {
    const job = await jobs.getJob(id);
    if (!job || !scopeIncludes(request.hqUser.stores, job.storeId))
      throw new HttpError(404, `no job ${JSON.stringify(id)}`);
    return job;
  }

  const views = async (list: JobRecord[]): Promise<JobView[]> => service.views(list);
  const caller = (request: FastifyRequest) => ({
    apiKeyId: `hq:${request.hqUser.name}`,
    idempotencyKey: null,
  });

  app.get('/hq/api/me', async (request) => {
    const { name, role, stores } = request.hqUser;
    return { name, role, stores };
  });

  app.get('/hq/api/overview', async (request) =>
    dashboard.fleetTotals(request.hqUser.stores, Date.now() - DAY_MS),
  );

  app.get('/hq/api/stores', async (request) => {
    const q = request.query as Record<string, string | undefined>;
    return dashboard.fleetPage({
      scope: request.hqUser.stores,
      search: q.q?.slice(0, 100) ?? null,
      problemsOnly: q.problems === '1',
      offset: int(q.offset, 0, 1_000_000),
      limit: Math.max(1, int(q.limit, 50, PAGE_MAX)),
    });
  });

  app.get('/hq/api/stores/:id', async (request) => {
    const { id } = request.params as { id: string };
    const store = await visibleStore(request, id);
    const [printers, open, recent, history] = await Promise.all([
      directory.listPrinters(id),
      jobs.openJobs(id),
      jobs.listJobs({ storeIds: [id], storeId: id, limit: 30 }),
      dashboard.printerHistory(id, 200),
    ]);
    const openViews = await views(open);
    const health = store.health as {
      uptimeSeconds?: number;
      heldJobs?: number;
      memoryRssBytes?: number;
    } | null;
    return {
      store: {
        id: store.id,
        name: store.name,
        online: store.online,
        lastSeenAt: store.lastSeenAt,
        agentVersion: store.agentVersion,
        instanceId: store.instanceId,
        healthAt: store.healthAt,
        uptimeSeconds: health?.uptimeSeconds ?? null,
        heldJobs: health?.heldJobs ?? null,
      },
      printers: printers.map((p) => ({
        printerId: p.printerId,
        name: p.info?.name ?? null,
        roles: p.info?.roles ?? [],
        profile: p.info?.profile ?? null,
        // A stale report is not a state: an offline store's printers are unknown.
        condition: store.online ? printerCondition(p.status) : 'unknown',
        statusAt: p.statusAt,
        health: p.health as PrinterHealth | null,
        history: history.filter((h) => h.printerId === p.printerId),
        queue: openViews.filter(
          (j) =>
            j.printerId === p.printerId ||
            (j.printerId === null &&
              (j.printer === p.printerId || (p.info?.roles ?? []).includes(j.printer))),
        ),
      })),
      recentJobs: await views(recent),
    };
  });

  app.get('/hq/api/jobs', async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const orderNo = q.orderNo?.trim();
    if (!orderNo) throw new HttpError(400, 'give orderNo (and optionally source)');
    const found = await jobs.listJobs({
      storeIds: request.hqUser.stores,
      orderNo,
      ...(q.source?.trim() ? { source: q.source.trim() } : {}),
      limit: 100,
    });
    return { jobs: await views(found.sort((a, b) => a.createdAt - b.createdAt)) };
  });

  app.get('/hq/api/jobs/:id', async (request) => {
    const job = await visibleJob(request, (request.params as { id: string }).id);
    return (await views([job]))[0];
  });

  app.get('/hq/api/jobs/:id/picture.svg', async (request, reply) => {
    const job = await visibleJob(request, (request.params as { id: string }).id);
    if (job.kind !== 'ticket')
      throw new HttpError(404, 'this job was sent as raw bytes: there is no ticket to draw');
    const printers = await directory.listPrinters(job.storeId);
    const printer =
      printers.find((p) => p.printerId === job.printerId) ??
      printers.find((p) => p.printerId === job.printer || (p.info?.roles ?? []).includes(job.printer));
    let profile = getProfile(FALLBACK_PROFILE);
    try {
      if (printer?.info?.profile) profile = getProfile((printer.info as PrinterInfo).profile as string);
    } catch {
      // A profile of the store's own (a file on the store PC): drawn on the fallback's paper.
    }
    let picture: ReturnType<typeof ticketPicture>;
    try {
      picture = ticketPicture(JSON.parse(job.payload) as Ticket, profile);
    } catch (err) {
      if (!(err instanceof RenderError)) throw err;
      throw new HttpError(422, `this ticket cannot be drawn for ${profile.name}: ${err.message}`);
    }
    void reply
      .type('image/svg+xml; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; img-src data:; style-src 'unsafe-inline'");
    return picture.svg;
  });

  // ---- actions ----

  app.post('/hq/api/stores/:id/test-print', async (request, reply) => {
    requireRole(request, 'operator');
    const { id } = request.params as { id: string };
    const store = await visibleStore(request, id);
    const printer = text(body(request), 'printer') as string;
    const now = new Date();
    const ticket: Ticket = {
      blocks: [
        { type: 'text', text: '测试打印 Test print', align: 'center', bold: true, width: 2, height: 2 },
        { type: 'text', text: `门店 Store: ${store.name} (${store.id})` },
        { type: 'text', text: `打印机 Printer: ${printer}` },
        { type: 'text', text: `总部发起 From HQ: ${request.hqUser.name}` },
        { type: 'text', text: `时间 Time: ${now.toISOString().replace('T', ' ').slice(0, 19)} UTC` },
        { type: 'text', text: '中文打印正常：宫保鸡丁、麻婆豆腐' },
        { type: 'cut' },
      ],
    };
    const req = parseJobRequest({ storeId: id, printer, ticket, ttlSeconds: 600 });
    const { job } = await service.create(req, caller(request));
    await audit(request, 'printer.test-print', id, printer, `job ${job.id}`);
    void reply.code(201);
    return (await views([job]))[0];
  });

  app.post('/hq/api/jobs/:id/reprint', async (request, reply) => {
    requireRole(request, 'operator');
    const job = await visibleJob(request, (request.params as { id: string }).id);
    const { job: copy } = await service.reprint(job, {}, caller(request));
    await audit(request, 'job.reprint', job.storeId, job.id, `reprint #${copy.reprintCount}: job ${copy.id}`);
    void reply.code(201);
    return (await views([copy]))[0];
  });

  app.post('/hq/api/jobs/:id/cancel', async (request) => {
    requireRole(request, 'operator');
    const job = await visibleJob(request, (request.params as { id: string }).id);
    const cancelled = await service.cancel(job);
    await audit(request, 'job.cancel', job.storeId, job.id);
    return (await views([cancelled]))[0];
  });

  app.post('/hq/api/jobs/:id/decide', async (request) => {
    requireRole(request, 'operator');
    const job = await visibleJob(request, (request.params as { id: string }).id);
    const decision = text(body(request), 'decision');
    if (decision !== 'print' && decision !== 'discard')
      throw new HttpError(400, 'decision must be print or discard');
    if (job.state !== 'held') throw new HttpError(409, `job ${job.id} is not held (it is ${job.state})`);
    if (!(await directory.storeOnline(job.storeId))) {
      throw new HttpError(409, 'the store is offline: the decision can be sent once its agent is back');
    }
    await deps.dispatcher.sendHeldDecision(job, decision);
    await audit(request, `job.held-${decision}`, job.storeId, job.id);
    return (await views([job]))[0];
  });

  // ---- administration (admin only) ----

  app.post('/hq/api/stores', async (request, reply) => {
    requireRole(request, 'admin');
    const b = body(request);
    const id = text(b, 'id') as string;
    let created: Awaited<ReturnType<typeof addStore>>;
    try {
      created = await addStore(directory, id, text(b, 'name') as string);
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
    await audit(request, 'store.add', id, id, created.store.name);
    void reply.code(201);
    return {
      store: { id, name: created.store.name },
      credentials: created.credentials,
      enrolment: created.enrolment,
    };
  });

  app.get('/hq/api/keys', async (request) => {
    requireRole(request, 'admin');
    return { keys: (await directory.listApiKeys()).map(({ secretHash: _, ...k }) => k) };
  });

  app.post('/hq/api/keys', async (request, reply) => {
    requireRole(request, 'admin');
    const b = body(request);
    const name = text(b, 'name') as string;
    const stores = parseScope(b);
    const created = await addApiKey(directory, name, stores);
    await audit(request, 'key.add', null, created.id, name);
    void reply.code(201);
    return created;
  });

  app.post('/hq/api/keys/:id/revoke', async (request) => {
    requireRole(request, 'admin');
    const { id } = request.params as { id: string };
    if (!(await directory.revokeApiKey(id, Date.now()))) throw new HttpError(404, `no active API key ${id}`);
    await audit(request, 'key.revoke', null, id);
    return { revoked: id };
  });

  app.get('/hq/api/webhooks', async (request) => {
    requireRole(request, 'admin');
    return { webhooks: (await directory.listWebhooks()).map(({ secret: _, ...h }) => h) };
  });

  app.post('/hq/api/webhooks', async (request, reply) => {
    requireRole(request, 'admin');
    const b = body(request);
    const url = text(b, 'url') as string;
    let created: { id: string; secret: string };
    try {
      created = await addWebhook(
        directory,
        url,
        parseWebhookEvents(String(b.events ?? 'job.state,printer.status')),
        parseScope(b),
      );
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
    await audit(request, 'webhook.add', null, created.id, url);
    void reply.code(201);
    return created;
  });

  app.delete('/hq/api/webhooks/:id', async (request) => {
    requireRole(request, 'admin');
    const { id } = request.params as { id: string };
    if (!(await directory.removeWebhook(id))) throw new HttpError(404, `no webhook ${id}`);
    await audit(request, 'webhook.remove', null, id);
    return { removed: id };
  });

  app.get('/hq/api/users', async (request) => {
    requireRole(request, 'admin');
    return { users: (await dashboard.listUsers()).map(({ passwordHash: _, ...u }) => u) };
  });

  app.post('/hq/api/users', async (request, reply) => {
    requireRole(request, 'admin');
    const b = body(request);
    let created: Awaited<ReturnType<typeof addUser>>;
    try {
      const stores = parseScope(b);
      if (stores !== 'all') {
        for (const s of stores)
          if (!(await directory.getStore(s))) throw new Error(`unknown store ${JSON.stringify(s)}`);
      }
      created = await addUser(dashboard, {
        name: text(b, 'name') as string,
        role: parseRole(String(b.role)),
        stores,
        password: text(b, 'password', false),
      });
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, (err as Error).message);
    }
    await audit(request, 'user.add', null, created.user.name, created.user.role);
    void reply.code(201);
    return {
      name: created.user.name,
      role: created.user.role,
      stores: created.user.stores,
      password: created.password,
    };
  });

  app.delete('/hq/api/users/:name', async (request) => {
    requireRole(request, 'admin');
    const { name } = request.params as { name: string };
    if (name === request.hqUser.name) throw new HttpError(409, 'you cannot remove yourself');
    if (!(await dashboard.removeUser(name))) throw new HttpError(404, `no user ${name}`);
    await audit(request, 'user.remove', null, name);
    return { removed: name };
  });

  app.get('/hq/api/audit', async (request) => {
    requireRole(request, 'admin');
    const q = request.query as Record<string, string | undefined>;
    return {
      entries: await dashboard.listAudit(
        100,
        q.before ? int(q.before, 0, Number.MAX_SAFE_INTEGER) : undefined,
      ),
    };
  });
}
