// Orders as order sources send them (POST /v1/orders): the order's data, not its tickets. The
// relay splits it by station and lays out each ticket (relay/orders/). Money is integer cents
// or a decimal string ("28.50"), never a float: 0.1 + 0.2 is not 0.3.
import { type Static, Type } from '@sinclair/typebox';
import { OrderRef } from './job.js';
import { StringEnum } from './schema.js';
import { STORE_ID_PATTERN } from './topics.js';
import { validator } from './validate.js';

export const ORDER_TYPES = ['dine-in', 'takeaway', 'delivery'] as const;

export const Money = Type.Union(
  [
    Type.Integer({ minimum: -100_000_000, maximum: 100_000_000, description: 'Cents (分): 2850 is ¥28.50.' }),
    Type.String({
      pattern: '^-?[0-9]{1,7}(\\.[0-9]{1,2})?$',
      description: 'Yuan as a decimal string: "28.50".',
    }),
  ],
  { description: 'Integer cents, or a decimal string of yuan; never a float.' },
);
export type Money = Static<typeof Money>;

/** Cents of an amount given either way. */
export function toCents(amount: Money): number {
  if (typeof amount === 'number') return amount;
  const negative = amount.startsWith('-');
  const [whole = '0', fraction = ''] = amount.replace('-', '').split('.');
  const cents = Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
  return negative ? -cents : cents;
}

const Text = (maxLength: number, description?: string) =>
  Type.String({ minLength: 1, maxLength, ...(description ? { description } : {}) });

export const OrderItem = Type.Object(
  {
    sku: Type.Optional(Text(64)),
    name: Text(200, 'As it should print, e.g. "榴莲比萨 Durian pizza (12寸)".'),
    qty: Type.Integer({ minimum: 1, maximum: 999 }),
    unitPrice: Money,
    station: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
        description:
          'Kitchen station, e.g. "pizza", "drinks": its ticket prints on the printer with that role. Default: the store menu\'s rule for the item, else "kitchen".',
      }),
    ),
    modifiers: Type.Optional(Type.Array(Text(100), { maxItems: 30, description: 'e.g. "少冰", "加芝士".' })),
    note: Type.Optional(Text(200)),
  },
  { additionalProperties: false },
);
export type OrderItem = Static<typeof OrderItem>;

const Charge = Type.Object({ name: Text(100), amount: Money }, { additionalProperties: false });

export const OrderRequest = Type.Object(
  {
    storeId: Type.String({ pattern: STORE_ID_PATTERN }),
    source: OrderRef.properties.source,
    orderNo: OrderRef.properties.orderNo,
    pickupNo: Type.Optional(Text(32, 'The number called out at the counter, e.g. the platform\'s "#12".')),
    type: StringEnum(ORDER_TYPES),
    placedAt: Type.String({
      format: 'date-time',
      description: "With the store's UTC offset, as printed: 2026-12-03T12:30:00+08:00.",
    }),
    dueAt: Type.Optional(Type.String({ format: 'date-time' })),
    customer: Type.Optional(
      Type.Object(
        {
          name: Type.Optional(Text(100)),
          phone: Type.Optional(Type.String({ pattern: '^[0-9+ -]{3,20}$', description: 'Printed masked.' })),
          address: Type.Optional(Text(300)),
        },
        { additionalProperties: false },
      ),
    ),
    items: Type.Array(OrderItem, { minItems: 1, maxItems: 200 }),
    fees: Type.Optional(Type.Array(Charge, { maxItems: 20, description: 'Delivery, packing, ...' })),
    discounts: Type.Optional(
      Type.Array(Charge, { maxItems: 20, description: 'Amounts taken off (positive).' }),
    ),
    total: Money,
    payment: Type.Optional(Text(50, 'How it was paid, e.g. "在线支付 Online".')),
    note: Type.Optional(Text(300, 'The customer\'s remark, e.g. "不要香菜".')),
  },
  { $id: 'OrderRequest', additionalProperties: false },
);
export type OrderRequest = Static<typeof OrderRequest>;

export const parseOrderRequest = validator(OrderRequest, 'order');

const Station = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'A printer role.' });

/** A store's menu routing: which station an item without one goes to. First matching rule wins. */
export const StoreMenu = Type.Object(
  {
    rules: Type.Array(
      Type.Object(
        {
          sku: Type.Optional(Text(64, 'Matches an item with exactly this sku.')),
          name: Type.Optional(Text(100, 'Matches an item whose name contains this (any case).')),
          station: Station,
        },
        { additionalProperties: false, minProperties: 2 },
      ),
      { maxItems: 1000 },
    ),
  },
  { $id: 'StoreMenu', additionalProperties: false },
);
export type StoreMenu = Static<typeof StoreMenu>;
export const parseStoreMenu = validator(StoreMenu, 'menu');

/** The station of the first rule that matches `item`, if any. */
export function menuStation(menu: StoreMenu, item: OrderItem): string | undefined {
  const name = item.name.toLowerCase();
  return menu.rules.find(
    (r) =>
      (r.sku === undefined || r.sku === item.sku) &&
      (r.name === undefined || name.includes(r.name.toLowerCase())),
  )?.station;
}

export const ORDER_STATES = [
  'waiting',
  'printed',
  'partly-printed',
  'failed',
  'uncertain',
  'cancelled',
] as const;

export const OrderTicket = Type.Object(
  {
    ticket: Type.String({ description: '"receipt", or "kitchen:<station>".' }),
    printer: Type.String({ description: 'The printer role it went to.' }),
    jobId: Type.String(),
    state: Type.String({ description: 'The job state (GET /v1/jobs/{id} has its timeline).' }),
    warning: Type.Optional(
      Type.String({ description: 'Its template failed, so the built-in one laid it out: why.' }),
    ),
  },
  { additionalProperties: false },
);

export const OrderView = Type.Object(
  {
    storeId: Type.String(),
    source: Type.String(),
    orderNo: Type.String(),
    state: StringEnum(ORDER_STATES, {
      description:
        'printed: every ticket printed; partly-printed: some did, none failed yet; failed or uncertain: at least one ticket did; waiting: none printed yet.',
    }),
    tickets: Type.Array(OrderTicket),
  },
  { $id: 'OrderView', additionalProperties: false },
);
export type OrderView = Static<typeof OrderView>;
