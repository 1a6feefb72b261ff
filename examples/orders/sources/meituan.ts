// Example: a 美团外卖 order push -> printrelay's POST /v1/orders. The field names are those of
// Meituan's order push as its public SDKs model it (wm_order_id_view, day_seq, ctime and
// delivery_time in Unix seconds, detail and extras as JSON text, prices in yuan as numbers);
// check them against the platform documentation your account has before relying on them.
import { type OrderRequest, parseOrderRequest } from '../../../protocol/order.js';

interface MeituanDish {
  app_food_code?: string;
  food_name: string;
  spec?: string;
  food_property?: string;
  quantity: number;
  price: number;
  box_num?: number;
  box_price?: number;
}

export interface MeituanPush {
  wm_order_id_view: string;
  day_seq: number;
  ctime: number;
  /** 0: as soon as possible. */
  delivery_time: number;
  caution?: string;
  detail: string;
  extras?: string;
  recipient_name?: string;
  recipient_phone?: string;
  recipient_address?: string;
  shipping_fee?: number;
  total: number;
}

/** Yuan as the platform sends them (a JSON number) -> cents, rounded once, here at the edge. */
export const cents = (yuan: number): number => Math.round(yuan * 100);

/** Unix seconds -> ISO 8601 at the store's UTC offset (China: +08:00), as printrelay prints it. */
export function storeTime(seconds: number, offset = '+08:00'): string {
  const [sign, hh, mm] = [offset[0] === '-' ? -1 : 1, Number(offset.slice(1, 3)), Number(offset.slice(4, 6))];
  const local = new Date(seconds * 1000 + sign * (hh * 60 + mm) * 60_000);
  return `${local.toISOString().slice(0, 19)}${offset}`;
}

export function fromMeituan(push: MeituanPush, storeId: string): OrderRequest {
  const dishes = JSON.parse(push.detail) as MeituanDish[];
  const extras = push.extras ? (JSON.parse(push.extras) as { reduce_fee?: number; remark?: string }[]) : [];
  const boxes = dishes.reduce((sum, d) => sum + (d.box_num ?? 0) * (d.box_price ?? 0), 0);
  return parseOrderRequest({
    storeId,
    source: 'meituan',
    orderNo: String(push.wm_order_id_view),
    pickupNo: String(push.day_seq),
    type: 'delivery',
    placedAt: storeTime(push.ctime),
    ...(push.delivery_time > 0 ? { dueAt: storeTime(push.delivery_time) } : {}),
    customer: {
      ...(push.recipient_name ? { name: push.recipient_name } : {}),
      ...(push.recipient_phone ? { phone: push.recipient_phone } : {}),
      ...(push.recipient_address ? { address: push.recipient_address } : {}),
    },
    items: dishes.map((d) => ({
      ...(d.app_food_code ? { sku: d.app_food_code } : {}),
      name: d.spec ? `${d.food_name} (${d.spec})` : d.food_name,
      qty: d.quantity,
      unitPrice: cents(d.price),
      // "加芝士,少冰": each attribute its own line on the kitchen ticket.
      ...(d.food_property ? { modifiers: d.food_property.split(',').filter(Boolean) } : {}),
    })),
    fees: [
      ...(boxes > 0 ? [{ name: '餐盒费 Packing', amount: cents(boxes) }] : []),
      ...(push.shipping_fee ? [{ name: '配送费 Delivery', amount: cents(push.shipping_fee) }] : []),
    ],
    discounts: extras
      .filter((e) => (e.reduce_fee ?? 0) > 0)
      .map((e) => ({ name: e.remark || '优惠 Discount', amount: cents(e.reduce_fee ?? 0) })),
    total: cents(push.total),
    payment: '在线支付 Online',
    ...(push.caution ? { note: push.caution.slice(0, 300) } : {}),
  });
}
