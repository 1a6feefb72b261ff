// The dashboard's endpoints for orders and their ticket templates, under /hq/api: an order's
// tickets with the template errors that made the built-in layout print them, and the template
// editor's data (the template in use, its versions, a picture of the sample order laid out on
// 58 or 80 mm paper, save, roll back). Anyone signed in may look and preview; HQ's templates
// (every store's) are changed by admins for all stores only, a store's own by its operators.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RenderError } from '../../escpos/layout.js';
import { ticketPicture } from '../../escpos/picture.js';
import { getProfile } from '../../escpos/profiles/index.js';
import type { OrderView } from '../../protocol/order.js';
import { parseTicketTemplate, TEMPLATE_KINDS, type TemplateKind } from '../../protocol/template.js';
import { ValidationError } from '../../protocol/validate.js';
import { HttpError } from '../api/errors.js';
import { Refused } from '../errors.js';
import type { OrderService } from '../orders/orders.js';
import { renderTemplate } from '../orders/template.js';
import { sampleView, type TemplateService } from '../orders/templates.js';
import type { DashboardStore } from '../store/dashboard-store.js';
import { type Directory, type JobStore, scopeIncludes } from '../store/job-store.js';
import { body, requireRole, text } from './routes.js';

export interface DashboardOrderDeps {
  directory: Directory;
  jobs: JobStore;
  dashboard: DashboardStore;
  orders: OrderService;
  templates: TemplateService;
}

/** The paper widths the editor previews on, each drawn with a shipped printer's profile. */
const PREVIEW_PROFILES: Record<string, string> = { '58': 'gprinter-58', '80': 'xprinter-80' };

function kindOf(request: FastifyRequest): TemplateKind {
  const { kind } = request.params as { kind: string };
  if (!(TEMPLATE_KINDS as readonly string[]).includes(kind))
    throw new HttpError(404, `no ticket kind ${JSON.stringify(kind)}: ${TEMPLATE_KINDS.join(', ')}`);
  return kind as TemplateKind;
}

export function registerDashboardOrderRoutes(app: FastifyInstance, deps: DashboardOrderDeps): void {
  const { directory, jobs, dashboard, orders, templates } = deps;

  /** The template's owner: ?storeId= a store the user may see (404 otherwise), or HQ (null). */
  async function owner(request: FastifyRequest): Promise<string | null> {
    const storeId = (request.query as Record<string, string | undefined>).storeId?.trim();
    if (!storeId) return null;
    if (!scopeIncludes(request.hqUser.stores, storeId) || !(await directory.getStore(storeId)))
      throw new HttpError(404, `no store ${JSON.stringify(storeId)}`);
    return storeId;
  }

  /** HQ's templates print in every store: only an admin over all of them changes them. */
  function mayChange(request: FastifyRequest, storeId: string | null): void {
    requireRole(request, storeId === null ? 'admin' : 'operator');
    if (storeId !== null) return;
    if (request.hqUser.stores !== 'all')
      throw new HttpError(
        403,
        "HQ's templates print in every store: only an admin for all stores may change them",
      );
  }

  const state = async (request: FastifyRequest, kind: TemplateKind, storeId: string | null) => {
    const resolved = await templates.resolve(kind, storeId);
    const { role, stores } = request.hqUser;
    return {
      kind,
      storeId,
      inUse: { from: resolved.from, version: resolved.version, template: resolved.template },
      versions: (await templates.versions(kind, storeId)).map((v) => ({
        version: v.version,
        savedBy: v.savedBy,
        savedAt: v.savedAt,
        comment: v.comment,
      })),
      mayChange: storeId === null ? role === 'admin' && stores === 'all' : role !== 'viewer',
    };
  };

  const audit = (request: FastifyRequest, action: string, storeId: string | null, detail: string) =>
    dashboard.addAudit({ at: Date.now(), user: request.hqUser.name, action, storeId, target: null, detail });

  app.get('/hq/api/orders', async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const orderNo = q.orderNo?.trim();
    if (!orderNo) throw new HttpError(400, 'give orderNo (and optionally source)');
    const source = q.source?.trim() || undefined;
    // Without a source, every order of that number the user may see (one per store and source).
    const found = await jobs.listJobs({ storeIds: request.hqUser.stores, orderNo, source, limit: 100 });
    const keys = new Set(found.flatMap((j) => (j.orderRef ? [`${j.storeId}\n${j.orderRef.source}`] : [])));
    const views: OrderView[] = [];
    for (const key of keys) {
      const [storeId, src] = key.split('\n') as [string, string];
      const view = await orders.find(request.hqUser.stores, src, orderNo, storeId);
      if (view) views.push(view);
    }
    return { orders: views };
  });

  app.get('/hq/api/templates/:kind', async (request) => {
    const kind = kindOf(request);
    return state(request, kind, await owner(request));
  });

  // The editor's live preview: nothing is saved; a template that does not lay out is an answer, not an error.
  app.post('/hq/api/templates/:kind/preview', async (request) => {
    const kind = kindOf(request);
    const b = body(request);
    const paper = String(b.paper ?? '80');
    const profileName = PREVIEW_PROFILES[paper];
    if (!profileName) throw new HttpError(400, `paper must be 58 or 80 (mm), not ${JSON.stringify(paper)}`);
    const profile = getProfile(profileName);
    try {
      const template = parseTicketTemplate(b.template);
      if (template.kind !== kind)
        throw new Refused('invalid', `kind is "${template.kind}", but this is the ${kind} template`, [
          { path: '/kind', message: `must be ${kind}` },
        ]);
      const picture = ticketPicture(renderTemplate(template, sampleView(kind)), profile);
      return { paper, profile: profile.name, svg: picture.svg, width: picture.width, problems: [] };
    } catch (err) {
      if (err instanceof ValidationError || err instanceof Refused)
        return {
          paper,
          profile: profile.name,
          svg: null,
          problems: err.issues ?? [{ path: '/', message: err.message }],
        };
      if (err instanceof RenderError)
        return {
          paper,
          profile: profile.name,
          svg: null,
          problems: [{ path: '/blocks', message: err.message }],
        };
      throw err;
    }
  });

  app.put('/hq/api/templates/:kind', async (request) => {
    const kind = kindOf(request);
    const storeId = await owner(request);
    mayChange(request, storeId);
    const b = body(request);
    const comment = text(b, 'comment', false) ?? null;
    const saved = await templates.save(kind, storeId, b.template, { savedBy: request.hqUser.name, comment });
    await audit(
      request,
      'template.save',
      storeId,
      `${kind} version ${saved.version}${comment ? `: ${comment}` : ''}`,
    );
    return state(request, kind, storeId);
  });

  app.post('/hq/api/templates/:kind/rollback', async (request) => {
    const kind = kindOf(request);
    const storeId = await owner(request);
    mayChange(request, storeId);
    const version = Number(body(request).version);
    if (!Number.isInteger(version) || version < 1)
      throw new HttpError(400, 'version must be a version number (1, 2, ...)', [
        { path: '/version', message: 'a whole number from 1' },
      ]);
    const saved = await templates.rollback(kind, storeId, version, request.hqUser.name);
    await audit(
      request,
      'template.rollback',
      storeId,
      `${kind} version ${version} saved again as ${saved.version}`,
    );
    return state(request, kind, storeId);
  });
}
