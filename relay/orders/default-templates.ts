// The built-in layouts: a kitchen ticket per station (what the cook reads from a metre away:
// the call number, each item and its changes in large type, notes in reverse), the counter's
// receipt (items, fees, discounts, total, customer), and bag labels (one per item, "2/3").
// Data, in the template format of ./template.ts.
import type { TicketTemplate } from '../../protocol/template.js';

export const DEFAULT_KITCHEN: TicketTemplate = {
  format: 1,
  kind: 'kitchen',
  name: '厨房单 Kitchen ticket (built in)',
  blocks: [
    { type: 'text', text: '{{ticket.station}}', align: 'center', bold: true, width: 2, height: 2 },
    { type: 'text', text: '#{{order.callNo}}', align: 'center', bold: true, width: 3, height: 3 },
    { type: 'text', text: '{{order.typeLabel}}  {{order.sourceLabel}}', align: 'center' },
    { type: 'text', text: '订单 Order {{order.orderNo}}' },
    {
      type: 'text',
      text: '下单 Placed {{order.placedTime}}{{#order.dueTime}}   取餐 Due {{order.dueTime}}{{/order.dueTime}}',
    },
    { type: 'rule' },
    {
      each: 'items',
      blocks: [
        { type: 'text', text: '{{qty}} x {{name}}', bold: true, width: 2, height: 2 },
        { if: 'modifiers', blocks: [{ type: 'text', text: '  + {{modifiers}}', height: 2 }] },
        { if: 'note', blocks: [{ type: 'text', text: '  备注 Note: {{note}}', invert: true, height: 2 }] },
      ],
    },
    { type: 'rule' },
    {
      if: 'order.note',
      blocks: [
        { type: 'text', text: '顾客备注 Customer note: {{order.note}}', bold: true, invert: true, height: 2 },
      ],
    },
    { type: 'text', text: '本单 {{ticket.itemCount}} 件 items', align: 'right' },
    { type: 'cut' },
  ],
};

export const DEFAULT_RECEIPT: TicketTemplate = {
  format: 1,
  kind: 'receipt',
  name: '顾客小票 Receipt (built in)',
  blocks: [
    { type: 'text', text: '{{store.name}}', align: 'center', bold: true, width: 2, height: 2 },
    {
      type: 'text',
      text: '{{order.sourceLabel}}  #{{order.callNo}}',
      align: 'center',
      bold: true,
      height: 2,
    },
    { type: 'text', text: '{{order.typeLabel}}' },
    { type: 'text', text: '订单号 Order: {{order.orderNo}}\n下单时间 Placed: {{order.placedTime}}' },
    { type: 'rule' },
    {
      type: 'table',
      columns: [{}, { width: 4, align: 'right' }, { width: 10, align: 'right' }],
      rows: [{ each: 'items', row: ['{{name}}', 'x{{qty}}', '{{amount}}'] }],
    },
    { type: 'rule' },
    {
      type: 'table',
      columns: [{}, { width: 12, align: 'right' }],
      rows: [
        { each: 'fees', row: ['{{name}}', '{{amount}}'] },
        { each: 'discounts', row: ['{{name}}', '{{amount}}'] },
      ],
    },
    {
      type: 'table',
      bold: true,
      columns: [{}, { width: 12, align: 'right' }],
      rows: [['合计 Total', '{{order.total}}']],
    },
    { if: 'order.payment', blocks: [{ type: 'text', text: '支付 Paid: {{order.payment}}' }] },
    {
      if: 'order.customerName',
      blocks: [{ type: 'text', text: '{{order.customerName}} {{order.phone}}\n{{order.address}}' }],
    },
    { if: 'order.note', blocks: [{ type: 'text', text: '备注 Note: {{order.note}}', bold: true }] },
    { type: 'feed' },
    { type: 'cut' },
  ],
};

export const DEFAULT_LABEL: TicketTemplate = {
  format: 1,
  kind: 'label',
  name: '打包标签 Bag labels (built in)',
  blocks: [
    {
      each: 'labels',
      blocks: [
        { type: 'text', text: '#{{order.callNo}}', align: 'center', bold: true, width: 3, height: 3 },
        { type: 'text', text: '{{index}}/{{count}}', align: 'center', bold: true, width: 2, height: 2 },
        { type: 'text', text: '{{name}}', bold: true, height: 2 },
        { if: 'modifiers', blocks: [{ type: 'text', text: '+ {{modifiers}}' }] },
        { type: 'text', text: '{{order.customerName}} {{order.phone}}' },
        { type: 'text', text: '{{order.sourceLabel}} {{order.orderNo}}  {{order.placedTime}}' },
        { type: 'cut' },
      ],
    },
  ],
};

/** A station's part of an order changed after it was sent: what to add, what to take off. */
export const DEFAULT_CHANGE: TicketTemplate = {
  format: 1,
  kind: 'change',
  name: '改单 Change ticket (built in)',
  blocks: [
    { type: 'text', text: '改单 CHANGED', align: 'center', bold: true, invert: true, width: 2, height: 2 },
    {
      type: 'text',
      text: '#{{order.callNo}}  {{ticket.station}}',
      align: 'center',
      bold: true,
      width: 2,
      height: 2,
    },
    { type: 'text', text: '订单 Order {{order.orderNo}}  {{order.sourceLabel}}' },
    { type: 'rule' },
    {
      each: 'changes',
      blocks: [
        { type: 'text', text: '{{change}} {{name}}', bold: true, width: 2, height: 2 },
        { if: 'modifiers', blocks: [{ type: 'text', text: '  + {{modifiers}}', height: 2 }] },
      ],
    },
    { type: 'rule' },
    { type: 'text', text: '现在本单 Now on this ticket:' },
    { each: 'items', blocks: [{ type: 'text', text: '{{qty}} x {{name}}' }] },
    { type: 'cut' },
  ],
};

/** The order was cancelled: the station stops what it started. */
export const DEFAULT_CANCEL: TicketTemplate = {
  format: 1,
  kind: 'cancel',
  name: '退单 Cancellation ticket (built in)',
  blocks: [
    { type: 'text', text: '退单 CANCELLED', align: 'center', bold: true, invert: true, width: 2, height: 2 },
    {
      type: 'text',
      text: '#{{order.callNo}}  {{ticket.station}}',
      align: 'center',
      bold: true,
      width: 2,
      height: 2,
    },
    { type: 'text', text: '订单 Order {{order.orderNo}}  {{order.sourceLabel}}' },
    { type: 'text', text: '如已开始制作请停止 Stop if started', bold: true },
    { type: 'rule' },
    { each: 'items', blocks: [{ type: 'text', text: '{{qty}} x {{name}}', bold: true, height: 2 }] },
    { type: 'cut' },
  ],
};
