// Example: an 饿了么 order (the order object of its order messages) -> printrelay's POST /v1/orders.
// The field names are those public integrations of Ele.me's open platform read (daySn, groups of
// items with newSpecs and attributes, consignee, phoneList, description, deliverFee, totalPrice,
// orderActivities, createdAt and deliverTime in the store's local time); check them against the
// platform documentation your account has before relying on them.
import { type OrderRequest, parseOrderRequest } from '../../../protocol/order.js';
import { cents } from './meituan.js';

interface ElemeItem {
  extendCode?: string;
  name: string;
  quantity: number;
  price: number;
  newSpecs?: { name: string; value: string }[];
  attributes?: { name: string; value: string }[];
}

export interface ElemeOrder {
  id: string;
  daySn: number;
  createdAt: string;
  deliverTime?: string | null;
  description?: string;
  consignee?: string;
  phoneList?: string[];
  address?: string;
  deliverFee?: number;
  totalPrice: number;
  /** "normal": dishes; "extra": packing and other fees. */
  groups: { name: string; type: string; items: ElemeItem[] }[];
  orderActivities?: { name: string; amount: number }[];
}

export function fromEleme(order: ElemeOrder, storeId: string, offset = '+08:00'): OrderRequest {
  const dishes = order.groups.filter((g) => g.type === 'normal').flatMap((g) => g.items);
  const extras = order.groups.filter((g) => g.type !== 'normal').flatMap((g) => g.items);
  const spec = (i: ElemeItem) =>
    (i.newSpecs ?? [])
      .map((s) => s.value)
      .filter(Boolean)
      .join('/');
  return parseOrderRequest({
    storeId,
    source: 'eleme',
    orderNo: order.id,
    pickupNo: String(order.daySn),
    type: 'delivery',
    placedAt: `${order.createdAt}${offset}`,
    ...(order.deliverTime ? { dueAt: `${order.deliverTime}${offset}` } : {}),
    customer: {
      ...(order.consignee ? { name: order.consignee } : {}),
      ...(order.phoneList?.[0] ? { phone: order.phoneList[0] } : {}),
      ...(order.address ? { address: order.address } : {}),
    },
    items: dishes.map((i) => ({
      ...(i.extendCode ? { sku: i.extendCode } : {}),
      name: spec(i) ? `${i.name} (${spec(i)})` : i.name,
      qty: i.quantity,
      unitPrice: cents(i.price),
      ...(i.attributes?.length ? { modifiers: i.attributes.map((a) => a.value) } : {}),
    })),
    fees: [
      ...extras.map((i) => ({ name: i.name, amount: cents(i.price * i.quantity) })),
      ...(order.deliverFee ? [{ name: '配送费 Delivery', amount: cents(order.deliverFee) }] : []),
    ],
    // Ele.me sends what an activity takes off as a negative amount.
    discounts: (order.orderActivities ?? []).map((a) => ({
      name: a.name,
      amount: cents(Math.abs(a.amount)),
    })),
    total: cents(order.totalPrice),
    payment: '在线支付 Online',
    ...(order.description ? { note: order.description.slice(0, 300) } : {}),
  });
}
