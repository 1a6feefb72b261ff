// /v1/orders: an order's data in, a ticket per kitchen station and the receipt out (relay/orders/).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ApiError, IdParams, parseIdParams } from '../../protocol/api.js';
import { OrderRef } from '../../protocol/job.js';
import {
  OrderRequest,
  OrderView,
  parseOrderRequest,
  parseStoreMenu,
  StoreMenu,
} from '../../protocol/order.js';
import { STORE_ID_PATTERN } from '../../protocol/topics.js';
import { validator } from '../../protocol/validate.js';
import { LABEL_ROLE, type OrderService, RECEIPT_ROLE } from '../orders/orders.js';
import type { Directory, JobStore } from '../store/job-store.js';
import { assertStoreAccess } from './auth.js';
import { HttpError } from './errors.js';
import { idempotencyKey } from './routes-jobs.js';

const errors = Object.fromEntries([400, 401, 403, 404, 409, 413, 415, 422].map((c) => [c, ApiError]));

const OrderQuery = Type.Object(
  {
    source: OrderRef.properties.source,
    orderNo: OrderRef.properties.orderNo,
    storeId: Type.Optional(Type.String({ pattern: STORE_ID_PATTERN })),
  },
  { additionalProperties: false },
);
const parseOrderQuery = validator(OrderQuery, 'query');
const OrderCancel = Type.Object(
  {
    storeId: Type.String({ pattern: STORE_ID_PATTERN }),
    source: OrderRef.properties.source,
    orderNo: OrderRef.properties.orderNo,
  },
  { additionalProperties: false },
);
const parseOrderCancel = validator(OrderCancel, 'cancellation');
const OrderReprint = Type.Object(
  {
    ...OrderCancel.properties,
    tickets: Type.Optional(
      Type.Array(Type.String({ maxLength: 80 }), {
        minItems: 1,
        maxItems: 50,
        description: 'Only these tickets, e.g. ["receipt"]; default all of the order\'s first tickets.',
      }),
    ),
  },
  { additionalProperties: false },
);
const parseOrderReprint = validator(OrderReprint, 'reprint');
const Reprints = Type.Object({
  reprints: Type.Array(Type.Object({ ticket: Type.String(), jobId: Type.String() })),
});

export function registerOrderRoutes(
  app: FastifyInstance,
  deps: { orders: OrderService; jobs: JobStore; directory: Directory },
): void {
  const knownStore = async (id: string) => {
    if (!(await deps.directory.getStore(id))) throw new HttpError(404, `unknown store ${JSON.stringify(id)}`);
  };

  app.get(
    '/v1/stores/:id/menu',
    {
      schema: {
        summary: "The store's menu routing: which station an item without one goes to",
        params: IdParams,
        response: { 200: StoreMenu, ...errors },
      },
    },
    async (request) => {
      const { id } = parseIdParams(request.params);
      assertStoreAccess(request, id);
      await knownStore(id);
      const menu = await deps.jobs.getMenu(id);
      return menu === null ? { rules: [] } : parseStoreMenu(JSON.parse(menu));
    },
  );

  app.put(
    '/v1/stores/:id/menu',
    {
      schema: {
        summary: "Set the store's menu routing (replaces it); orders use it from the next one on",
        description:
          'Rules in order, the first that matches wins: by sku (exactly) and/or by a part of the name (any case). ' +
          "An item's own station comes first; an item no rule matches goes to the kitchen.",
        params: IdParams,
        body: StoreMenu,
        response: { 200: StoreMenu, ...errors },
      },
    },
    async (request) => {
      const { id } = parseIdParams(request.params);
      assertStoreAccess(request, id);
      await knownStore(id);
      const menu = parseStoreMenu(request.body);
      const bad = menu.rules.findIndex((r) => r.station === RECEIPT_ROLE || r.station === LABEL_ROLE);
      if (bad >= 0) {
        const message = `"${menu.rules[bad]?.station}" is a printer role for the counter, not a kitchen station`;
        throw new HttpError(400, message, [{ path: `/rules/${bad}/station`, message }]);
      }
      await deps.jobs.putMenu(id, JSON.stringify(menu), Date.now());
      return menu;
    },
  );

  app.post(
    '/v1/orders',
    {
      schema: {
        summary: 'Send an order: a ticket per kitchen station with its items, and the receipt',
        description:
          'Each item prints on the printer whose role is its station (default "kitchen"; a station the store has no printer for goes to the kitchen printer); the receipt prints on the store\'s receipt printer. ' +
          'Answers 201 once every ticket is committed, with a job per ticket. The same Idempotency-Key with the same order returns the same jobs ' +
          '(Idempotent-Replayed: true); with another order it is a 409.',
        headers: Type.Object({ 'idempotency-key': Type.String({ maxLength: 240 }) }),
        body: OrderRequest,
        response: { 201: OrderView, ...errors },
      },
    },
    async (request, reply) => {
      const key = idempotencyKey(request);
      const order = parseOrderRequest(request.body);
      assertStoreAccess(request, order.storeId);
      const { view, replayed } = await deps.orders.place(order, {
        apiKeyId: request.apiKey.id,
        idempotencyKey: key,
      });
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).send(view);
    },
  );

  app.put(
    '/v1/orders',
    {
      schema: {
        summary: 'Change an order that was sent: the stations concerned get a ticket marked 改单 CHANGED',
        description:
          'The whole order as it is now. Each station whose items changed gets a ticket with what to add (+n) and take off (-n) ' +
          'and what its ticket now holds. The same Idempotency-Key with the same order prints nothing more.',
        headers: Type.Object({ 'idempotency-key': Type.String({ maxLength: 240 }) }),
        body: OrderRequest,
        response: { 200: OrderView, ...errors },
      },
    },
    async (request, reply) => {
      const key = idempotencyKey(request);
      const order = parseOrderRequest(request.body);
      assertStoreAccess(request, order.storeId);
      const { view, replayed } = await deps.orders.change(order, {
        apiKeyId: request.apiKey.id,
        idempotencyKey: key,
      });
      if (replayed) reply.header('idempotent-replayed', 'true');
      return view;
    },
  );

  app.post(
    '/v1/orders/cancel',
    {
      schema: {
        summary: 'Cancel an order: stations that may have its ticket get one marked 退单 CANCELLED',
        description:
          'Tickets still at the relay are cancelled there; each kitchen station whose ticket reached the store gets a ' +
          'cancellation ticket with its items. Cancelling again changes nothing.',
        headers: Type.Object({ 'idempotency-key': Type.String({ maxLength: 240 }) }),
        body: OrderCancel,
        response: { 200: OrderView, ...errors },
      },
    },
    async (request) => {
      const key = idempotencyKey(request);
      const { storeId, source, orderNo } = parseOrderCancel(request.body);
      assertStoreAccess(request, storeId);
      return deps.orders.cancel(storeId, source, orderNo, {
        apiKeyId: request.apiKey.id,
        idempotencyKey: key,
      });
    },
  );

  app.post(
    '/v1/orders/reprint',
    {
      schema: {
        summary: "Print an order's tickets again, marked REPRINT: all of them, or those named",
        description:
          'Finished tickets only. The same Idempotency-Key returns the same reprints; one ticket alone can also be ' +
          'reprinted as a job (POST /v1/jobs/{id}/reprint).',
        headers: Type.Object({ 'idempotency-key': Type.String({ maxLength: 240 }) }),
        body: OrderReprint,
        response: { 201: Reprints, ...errors },
      },
    },
    async (request, reply) => {
      const key = idempotencyKey(request);
      const { storeId, source, orderNo, tickets } = parseOrderReprint(request.body);
      assertStoreAccess(request, storeId);
      const { reprints, replayed } = await deps.orders.reprint(storeId, source, orderNo, tickets, {
        apiKeyId: request.apiKey.id,
        idempotencyKey: key,
      });
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).send({ reprints });
    },
  );

  app.get(
    '/v1/orders',
    {
      schema: {
        summary: "An order's tickets and state, by its source and number",
        querystring: OrderQuery,
        response: { 200: OrderView, ...errors },
      },
    },
    async (request) => {
      const q = parseOrderQuery(request.query);
      if (q.storeId !== undefined) assertStoreAccess(request, q.storeId);
      const view = await deps.orders.find(request.apiKey.stores, q.source, q.orderNo, q.storeId);
      if (!view)
        throw new HttpError(404, `no order ${q.source} ${q.orderNo} in the stores this API key covers`);
      return view;
    },
  );
}
