// /v1/templates/{kind}: the ticket templates orders are laid out with (relay/orders/templates.ts):
// HQ's, for every store (a key for all stores), or a store's own (?storeId=, a key for that store).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../../protocol/api.js';
import { TEMPLATE_KINDS, type TemplateKind, TicketTemplate } from '../../protocol/template.js';
import { STORE_ID_PATTERN } from '../../protocol/topics.js';
import { validator } from '../../protocol/validate.js';
import type { TemplateService } from '../orders/templates.js';
import type { TemplateVersion } from '../store/job-store.js';
import { assertStoreAccess } from './auth.js';
import { HttpError } from './errors.js';

const errors = Object.fromEntries([400, 401, 403, 404].map((c) => [c, ApiError]));
const KindParams = Type.Object({
  kind: Type.Unsafe<TemplateKind>({ type: 'string', enum: [...TEMPLATE_KINDS] }),
});
const parseKindParams = validator(KindParams, 'path');
const OwnerQuery = Type.Object(
  { storeId: Type.Optional(Type.String({ pattern: STORE_ID_PATTERN })) },
  { additionalProperties: false },
);
const parseOwnerQuery = validator(OwnerQuery, 'query');
const SaveRequest = Type.Object(
  { template: Type.Unknown(), comment: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);
const parseSaveRequest = validator(SaveRequest, 'request');
const RollbackRequest = Type.Object(
  { version: Type.Integer({ minimum: 1 }) },
  { additionalProperties: false },
);
const parseRollbackRequest = validator(RollbackRequest, 'request');

const VersionView = Type.Object({
  version: Type.Integer(),
  savedBy: Type.String(),
  savedAt: Type.String({ format: 'date-time' }),
  comment: Type.Union([Type.String(), Type.Null()]),
});
const TemplateState = Type.Object({
  kind: Type.String(),
  storeId: Type.Union([Type.String(), Type.Null()]),
  inUse: Type.Object({
    from: Type.String({ description: 'store, hq or built-in' }),
    version: Type.Union([Type.Integer(), Type.Null()]),
    template: TicketTemplate,
  }),
  versions: Type.Array(VersionView, { description: "This owner's versions, newest first." }),
});

const versionView = (v: TemplateVersion) => ({
  version: v.version,
  savedBy: v.savedBy,
  savedAt: new Date(v.savedAt).toISOString(),
  comment: v.comment,
});

export function registerTemplateRoutes(app: FastifyInstance, deps: { templates: TemplateService }): void {
  const { templates } = deps;

  /** The template's owner: a store (its key must cover it) or HQ (a key for every store). */
  const owner = (request: FastifyRequest): string | null => {
    const { storeId } = parseOwnerQuery(request.query ?? {});
    if (storeId !== undefined) {
      assertStoreAccess(request, storeId);
      return storeId;
    }
    if (request.apiKey.stores !== 'all')
      throw new HttpError(
        403,
        "HQ's templates are for every store: use an API key made with --stores all, or ?storeId=",
      );
    return null;
  };

  const state = async (kind: TemplateKind, storeId: string | null) => {
    // What a store's orders use; for HQ's, what stores without their own use.
    const resolved = await templates.resolve(kind, storeId);
    return {
      kind,
      storeId,
      inUse: { from: resolved.from, version: resolved.version, template: resolved.template },
      versions: (await templates.versions(kind, storeId)).map(versionView),
    };
  };

  app.get(
    '/v1/templates/:kind',
    {
      schema: {
        summary: 'The template in use for a kind of ticket, and its versions',
        params: KindParams,
        querystring: OwnerQuery,
        response: { 200: TemplateState, ...errors },
      },
    },
    async (request) => state(parseKindParams(request.params).kind, owner(request)),
  );

  app.put(
    '/v1/templates/:kind',
    {
      schema: {
        summary: 'Save a new version (checked first by laying out a sample order with it)',
        params: KindParams,
        querystring: OwnerQuery,
        body: SaveRequest,
        response: { 200: TemplateState, ...errors },
      },
    },
    async (request) => {
      const { kind } = parseKindParams(request.params);
      const storeId = owner(request);
      const { template, comment } = parseSaveRequest(request.body);
      await templates.save(kind, storeId, template, {
        savedBy: request.apiKey.name,
        comment: comment ?? null,
      });
      return state(kind, storeId);
    },
  );

  app.post(
    '/v1/templates/:kind/rollback',
    {
      schema: {
        summary: 'Save an earlier version again, as the newest',
        params: KindParams,
        querystring: OwnerQuery,
        body: RollbackRequest,
        response: { 200: TemplateState, ...errors },
      },
    },
    async (request) => {
      const { kind } = parseKindParams(request.params);
      const storeId = owner(request);
      const { version } = parseRollbackRequest(request.body);
      await templates.rollback(kind, storeId, version, request.apiKey.name);
      return state(kind, storeId);
    },
  );
}
