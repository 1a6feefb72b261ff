// What a ticket template sees of an order (docs/orders.md lists every field): plain data,
// already worded for paper: money as ￥28.50, times as the store's clock shows them, the
// customer's phone masked, labels in Chinese and English.
import { type OrderItem, type OrderRequest, toCents } from '../../protocol/order.js';
import type { View } from './template.js';

const SOURCE_LABELS: Record<string, string> = {
  meituan: '美团 Meituan',
  eleme: '饿了么 Ele.me',
  miniprogram: '小程序 Mini-program',
  wechat: '微信 WeChat',
  pos: '门店 POS',
};
const TYPE_LABELS: Record<OrderRequest['type'], string> = {
  'dine-in': '堂食 Dine-in',
  takeaway: '自取 Takeaway',
  delivery: '外卖 Delivery',
};

export function money(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  return `${sign}￥${(Math.abs(cents) / 100).toFixed(2)}`;
}

/** "12:30" of "2026-12-03T12:30:00+08:00": the time as the store's clock showed it. */
function clockTime(iso: string | undefined): string {
  return iso === undefined ? '' : (/T(\d{2}:\d{2})/.exec(iso)?.[1] ?? '');
}

/** 13812345678 -> 138****5678: a courier needs the end, nobody needs all of it on paper. */
function maskPhone(phone: string | undefined): string {
  if (phone === undefined) return '';
  const digits = phone.replace(/\D/g, '');
  return digits.length < 7 ? '****' : `${digits.slice(0, 3)}****${digits.slice(-4)}`;
}

function itemView(item: OrderItem): View {
  const unit = toCents(item.unitPrice);
  return {
    name: item.name,
    qty: item.qty,
    unitPrice: money(unit),
    amount: money(unit * item.qty),
    modifiers: (item.modifiers ?? []).join(', '),
    note: item.note ?? '',
  };
}

/** A line of a change ticket: "+1" or "-2" of a dish. */
export interface ItemChange {
  change: string;
  item: OrderItem;
}

export interface TicketContext {
  /** Store name as HQ entered it. */
  storeName: string;
  /** The items on this ticket (a station's), or all of them (the receipt). */
  items: OrderItem[];
  /** For kitchen tickets: the station (the printer role). */
  station?: string;
  /** For change tickets: what to add and take off at the station. */
  changes?: ItemChange[];
}

export function orderView(order: OrderRequest, ticket: TicketContext): View {
  const charges = (list: OrderRequest['fees'], sign: 1 | -1) =>
    (list ?? []).map((c) => ({ name: c.name, amount: money(sign * toCents(c.amount)) }));
  return {
    store: { id: order.storeId, name: ticket.storeName },
    order: {
      orderNo: order.orderNo,
      pickupNo: order.pickupNo ?? '',
      /** What the counter calls out: the pickup number, else the order number. */
      callNo: order.pickupNo ?? order.orderNo,
      source: order.source,
      sourceLabel: SOURCE_LABELS[order.source] ?? order.source,
      type: order.type,
      typeLabel: TYPE_LABELS[order.type],
      placedTime: clockTime(order.placedAt),
      dueTime: clockTime(order.dueAt),
      customerName: order.customer?.name ?? '',
      phone: maskPhone(order.customer?.phone),
      address: order.customer?.address ?? '',
      total: money(toCents(order.total)),
      payment: order.payment ?? '',
      note: order.note ?? '',
      itemCount: order.items.reduce((n, i) => n + i.qty, 0),
    },
    ticket: {
      station: ticket.station ?? '',
      itemCount: ticket.items.reduce((n, i) => n + i.qty, 0),
    },
    items: ticket.items.map(itemView),
    // One label per unit of each item, numbered across the order: "2/3".
    labels: ticket.items
      .flatMap((item) => Array.from({ length: item.qty }, () => itemView({ ...item, qty: 1 })))
      .map((label, i, all) => ({ ...label, index: i + 1, count: all.length })),
    changes: (ticket.changes ?? []).map((c) => ({ ...itemView(c.item), change: c.change })),
    fees: charges(order.fees, 1),
    discounts: charges(order.discounts, -1),
  };
}
