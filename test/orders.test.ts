// Orders: the built-in templates, and an order end to end (relay and agent as processes, four
// virtual printers): each station's ticket on its printer with only its items, the receipt at
// the counter, one set of tickets per Idempotency-Key, the order's state.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoOrderData } from '../cli/commands/demo.js';
import { ticketPicture } from '../escpos/picture.js';
import { resolveProfile } from '../escpos/profiles/index.js';
import { fromEleme } from '../examples/orders/sources/eleme.js';
import elemeOrder from '../examples/orders/sources/eleme-order.json' with { type: 'json' };
import { fromMeituan } from '../examples/orders/sources/meituan.js';
import meituanPush from '../examples/orders/sources/meituan-push.json' with { type: 'json' };
import { type OrderItem, type OrderRequest, parseOrderRequest, toCents } from '../protocol/order.js';
import { parseTicketTemplate } from '../protocol/template.js';
import type { Block } from '../protocol/ticket.js';
import { DEFAULT_KITCHEN, DEFAULT_LABEL, DEFAULT_RECEIPT } from '../relay/orders/default-templates.js';
import { renderTemplate, TemplateError } from '../relay/orders/template.js';
import { BUILT_IN } from '../relay/orders/templates.js';
import { orderView } from '../relay/orders/view.js';
import type { VirtualPrinter } from '../virtual-printer/virtual-printer.js';
import { launchBrowser, screenshot } from './support/browser.js';
import { CliProcess, E2e, waitFor } from './support/e2e.js';

const order = (storeId: string, orderNo: string): OrderRequest =>
  parseOrderRequest({
    storeId,
    source: 'meituan',
    orderNo,
    pickupNo: '37',
    type: 'delivery',
    placedAt: '2026-12-03T12:30:00+08:00',
    dueAt: '2026-12-03T13:05:00+08:00',
    customer: { name: '王女士', phone: '13812345678', address: '徐汇区漕溪北路 88 号 2 楼' },
    items: [
      {
        name: '榴莲比萨 Durian pizza (12寸)',
        qty: 2,
        unitPrice: 8800,
        station: 'pizza',
        modifiers: ['加芝士'],
      },
      { name: '可乐 Cola', qty: 1, unitPrice: '6.50', station: 'drinks', modifiers: ['少冰'] },
      { name: '凯撒沙拉 Caesar salad', qty: 1, unitPrice: 3200, station: 'cold', note: '不要面包丁' },
    ],
    fees: [{ name: '配送费 Delivery', amount: 500 }],
    discounts: [{ name: '满减 Promotion', amount: '10.00' }],
    total: 21650,
    payment: '在线支付 Online',
    note: '不要香菜',
  });

const texts = (blocks: Block[]) =>
  blocks.flatMap((b) =>
    b.type === 'text' ? [b.text] : b.type === 'table' ? b.rows.map((r) => r.join(' | ')) : [],
  );

describe('order templates', () => {
  it('money is integer cents or a decimal string, never a float', () => {
    expect([toCents(8800), toCents('6.50'), toCents('6.5'), toCents('-10.00'), toCents('12')]).toEqual([
      8800, 650, 650, -1000, 1200,
    ]);
    expect(() => parseOrderRequest({ ...order('s1', 'X'), total: 216.5 })).toThrow(/\/total/);
  });

  it('lays out a kitchen ticket with its station, its items in large type and the notes', () => {
    const o = order('s1', 'MT-1');
    const items = o.items.filter((i) => i.station === 'pizza');
    const ticket = renderTemplate(
      DEFAULT_KITCHEN,
      orderView(o, { storeName: '薄饼工坊', items, station: 'pizza' }),
    );
    const lines = texts(ticket.blocks);
    expect(lines).toContain('pizza');
    expect(lines).toContain('#37');
    expect(lines).toContain('2 x 榴莲比萨 Durian pizza (12寸)');
    expect(lines).toContain('  + 加芝士');
    expect(lines).toContain('下单 Placed 12:30   取餐 Due 13:05');
    expect(lines).toContain('顾客备注 Customer note: 不要香菜');
    expect(lines.join('\n')).not.toContain('Cola');
    expect(ticket.blocks.at(-1)).toEqual({ type: 'cut' });
  });

  it('lays out the receipt with every item, fees, discounts, total and the masked phone', () => {
    const o = order('s1', 'MT-1');
    const lines = texts(
      renderTemplate(DEFAULT_RECEIPT, orderView(o, { storeName: '薄饼工坊', items: o.items })).blocks,
    );
    expect(lines).toContain('榴莲比萨 Durian pizza (12寸) | x2 | ￥176.00');
    expect(lines).toContain('可乐 Cola | x1 | ￥6.50');
    expect(lines).toContain('配送费 Delivery | ￥5.00');
    expect(lines).toContain('满减 Promotion | -￥10.00');
    expect(lines).toContain('合计 Total | ￥216.50');
    expect(lines).toContain('王女士 138****5678\n徐汇区漕溪北路 88 号 2 楼');
  });

  it('makes a bag label per unit, numbered across the order', () => {
    const o = order('s1', 'MT-1');
    const ticket = renderTemplate(DEFAULT_LABEL, orderView(o, { storeName: 'S', items: o.items }));
    const lines = texts(ticket.blocks);
    expect(lines.filter((l) => /^\d+\/4$/.test(l))).toEqual(['1/4', '2/4', '3/4', '4/4']);
    expect(lines.filter((l) => l === '榴莲比萨 Durian pizza (12寸)')).toHaveLength(2);
    expect(lines).toContain('王女士 138****5678');
    expect(ticket.blocks.filter((b) => b.type === 'cut')).toHaveLength(4);
  });

  it('prints what an order says as it is: its words are never read as a template', () => {
    const o = order('s1', 'MT-1');
    const items = [{ ...o.items[0], name: '{{order.total}} {{#items}}x{{/items}}', qty: 1, unitPrice: 100 }];
    const ticket = renderTemplate(DEFAULT_RECEIPT, orderView(o, { storeName: '{{store.id}}', items }));
    const lines = texts(ticket.blocks);
    expect(lines[0]).toBe('{{store.id}}');
    expect(lines).toContain('{{order.total}} {{#items}}x{{/items}} | x1 | ￥1.00');
  });

  it('built-in templates are templates as HQ would write them', () => {
    for (const [kind, template] of Object.entries(BUILT_IN)) {
      expect(parseTicketTemplate(JSON.parse(JSON.stringify(template))).kind).toBe(kind);
    }
  });

  it("draws the sample order's tickets as they print, for a person to look at", async () => {
    const o = demoOrderData();
    const profile = resolveProfile('epson-tm-t88');
    const station = (name: string) => o.items.filter((i) => (i.station ?? 'kitchen') === name);
    const tickets = [
      ...['pizza', 'drinks', 'kitchen'].map((name) =>
        renderTemplate(
          DEFAULT_KITCHEN,
          orderView(o, { storeName: '薄饼工坊', items: station(name), station: name }),
        ),
      ),
      renderTemplate(DEFAULT_RECEIPT, orderView(o, { storeName: '薄饼工坊 徐汇天钥桥路店', items: o.items })),
    ];
    const svgs = tickets.map((t) => ticketPicture(t, profile).svg);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 4 * 640, height: 800 } });
      await page.setContent(
        `<body style="margin:0;display:flex;gap:24px;align-items:flex-start;background:#ddd">${svgs.join('')}</body>`,
      );
      expect(await page.locator('svg').count()).toBe(4);
      await screenshot(page, 'order-tickets');
    } finally {
      await browser.close();
    }
  });

  it('the example mappings turn a 美团 push and an 饿了么 order into orders whose money adds up', () => {
    const adds = (o: OrderRequest) =>
      o.items.reduce((n, i) => n + i.qty * toCents(i.unitPrice), 0) +
      (o.fees ?? []).reduce((n, f) => n + toCents(f.amount), 0) -
      (o.discounts ?? []).reduce((n, d) => n + toCents(d.amount), 0);
    const mt = fromMeituan(meituanPush, 's1');
    expect(mt).toMatchObject({
      source: 'meituan',
      orderNo: '27061900300000001',
      pickupNo: '37',
      placedAt: '2026-12-03T12:30:00+08:00',
      dueAt: '2026-12-03T13:05:00+08:00',
      customer: { name: '王女士', phone: '13812345678' },
    });
    expect(mt.items[0]).toEqual({
      sku: 'PZ-DURIAN-12',
      name: '榴莲比萨 Durian pizza (12寸)',
      qty: 2,
      unitPrice: 8800,
      modifiers: ['加芝士'],
    });
    expect(adds(mt)).toBe(toCents(mt.total));
    const el = fromEleme(elemeOrder, 's1');
    expect(el).toMatchObject({ source: 'eleme', pickupNo: '12', placedAt: '2026-12-03T12:30:00+08:00' });
    expect(el.items.map((i) => [i.name, i.modifiers])).toEqual([
      ['玛格丽特比萨 Margherita (9寸)', ['微辣']],
      ['薯条 Fries', undefined],
    ]);
    expect(adds(el)).toBe(toCents(el.total));
  });

  it('names the place of a template error', () => {
    const broken = {
      ...DEFAULT_KITCHEN,
      blocks: [...DEFAULT_KITCHEN.blocks.slice(0, 1), { type: 'text' as const, text: '{{#order.note}}' }],
    };
    const view = orderView(order('s1', 'MT-1'), { storeName: 'S', items: [] });
    expect(() => renderTemplate(broken, view)).toThrow(TemplateError);
    expect(() => renderTemplate(broken, view)).toThrow(
      /^template \/blocks\/1\/text: Unclosed section "order.note"/,
    );
  });
});

describe('end to end: an order comes out as a ticket per station and a receipt', { timeout: 60_000 }, () => {
  const e2e = new E2e();
  const printers: Record<string, VirtualPrinter> = {};
  let sys: Awaited<ReturnType<E2e['relay']>>;

  beforeAll(async () => {
    sys = await e2e.relay();
    const creds = await sys.relay.addStore('o1');
    for (const id of ['counter', 'oven', 'bar', 'kitchen', 'bags']) printers[id] = await e2e.printer();
    const printer = (id: string, roles: string[]) => ({
      id,
      uri: (printers[id] as VirtualPrinter).uri,
      roles,
    });
    const agent = await e2e.agent(sys.relay, creds, [
      printer('counter', ['receipt']),
      printer('oven', ['pizza']),
      printer('bar', ['drinks']),
      printer('kitchen', ['kitchen']),
      printer('bags', ['label']),
    ]);
    await agent.start();
    await waitFor(() => sys.api.storeOnline('o1'), 'store o1 online', 15_000);
    // The agent reports its printers just after it comes online: routing needs them.
    await waitFor(async () => {
      const res = await sys.api.request('/v1/stores/o1');
      return ((await res.json()) as { printers: unknown[] }).printers.length === 5;
    }, 'the five printers known at the relay');
  }, 60_000);
  afterAll(() => e2e.close());

  const post = (body: OrderRequest, key: string) =>
    sys.api.request('/v1/orders', { method: 'POST', json: body, headers: { 'idempotency-key': key } });

  it('prints each station its items only, the rest on the kitchen printer, and the receipt at the counter', async () => {
    const res = await post(order('o1', 'MT-100'), 'meituan-MT-100');
    expect(res.status).toBe(201);
    const view = (await res.json()) as {
      state: string;
      tickets: { ticket: string; printer: string; jobId: string }[];
    };
    expect(view.tickets.map((t) => [t.ticket, t.printer])).toEqual([
      ['kitchen:pizza', 'pizza'],
      ['kitchen:drinks', 'drinks'],
      ['kitchen:kitchen', 'kitchen'],
      ['receipt', 'receipt'],
      ['label', 'label'],
    ]);
    for (const t of view.tickets) await sys.api.waitForState(t.jobId, 'printed');

    // Large type wraps where the paper ends: compare the words, not the line breaks.
    const paper = (id: string) => (printers[id] as VirtualPrinter).printedText().replace(/\s+/g, ' ');
    expect(paper('oven')).toContain('2 x 榴莲比萨 Durian pizza (12寸)');
    expect(paper('oven')).not.toMatch(/Cola|Caesar/);
    expect(paper('bar')).toContain('1 x 可乐 Cola');
    expect(paper('bar')).not.toMatch(/Durian|Caesar/);
    // No "cold" printer: the salad goes to the kitchen, with its note.
    expect(paper('kitchen')).toContain('1 x 凯撒沙拉 Caesar salad');
    expect(paper('kitchen')).toContain('不要面包丁');
    expect(paper('counter')).toContain('合计 Total ￥216.50');
    expect(paper('counter')).toContain('138****5678');
    expect(paper('counter')).not.toContain('13812345678');
    // A delivery: a label for each of the four units, for the bags.
    expect(paper('bags').match(/#37 \d\/4/g)).toEqual(['#37 1/4', '#37 2/4', '#37 3/4', '#37 4/4']);

    const found = await sys.api.request('/v1/orders?source=meituan&orderNo=MT-100');
    expect(found.status).toBe(200);
    expect(await found.json()).toMatchObject({ storeId: 'o1', orderNo: 'MT-100', state: 'printed' });
  });

  it("reprints an order's tickets, all or those named, marked REPRINT", async () => {
    const reprint = (body: unknown, key: string) =>
      sys.api.request('/v1/orders/reprint', {
        method: 'POST',
        json: body,
        headers: { 'idempotency-key': key },
      });
    const ref = { storeId: 'o1', source: 'meituan', orderNo: 'MT-100' };
    const wrong = await reprint({ ...ref, tickets: ['kitchen:sushi'] }, 'rp-0');
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string }).error).toContain('has no ticket kitchen:sushi');
    const res = await reprint({ ...ref, tickets: ['receipt'] }, 'rp-1');
    expect(res.status).toBe(201);
    const { reprints } = (await res.json()) as { reprints: { ticket: string; jobId: string }[] };
    expect(reprints.map((r) => r.ticket)).toEqual(['receipt']);
    await sys.api.waitForState(reprints[0]?.jobId as string, 'printed');
    const again = await reprint({ ...ref, tickets: ['receipt'] }, 'rp-1');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const counter = (printers.counter as VirtualPrinter).printedText();
    expect(counter.match(/REPRINT/g)).toHaveLength(1);
    const all = (await (await reprint(ref, 'rp-2')).json()) as { reprints: unknown[] };
    expect(all.reprints).toHaveLength(5);
  });

  it('makes one set of tickets for one Idempotency-Key, and refuses the key for another order', async () => {
    const first = await post(order('o1', 'MT-101'), 'meituan-MT-101');
    const again = await post(order('o1', 'MT-101'), 'meituan-MT-101');
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const ids = (r: { tickets: { jobId: string }[] }) => r.tickets.map((t) => t.jobId);
    const a = (await first.json()) as { tickets: { jobId: string }[] };
    expect(ids((await again.json()) as typeof a)).toEqual(ids(a));
    for (const id of ids(a)) await sys.api.waitForState(id, 'printed');
    const changed = { ...order('o1', 'MT-101'), note: '多放辣' };
    expect((await post(changed, 'meituan-MT-101')).status).toBe(409);
    const orders = await sys.api.request('/v1/orders?source=meituan&orderNo=MT-101');
    expect(((await orders.json()) as { tickets: unknown[] }).tickets).toHaveLength(5);
    expect((printers.oven as VirtualPrinter).printedText().match(/订单 Order MT-101/g)).toHaveLength(1);
  });

  it('prints the same order once whatever key it comes with', async () => {
    const first = (await (await post(order('o1', 'MT-103'), 'a-key')).json()) as {
      tickets: { jobId: string }[];
    };
    const again = await post(order('o1', 'MT-103'), 'another-key');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const second = (await again.json()) as typeof first;
    expect(second.tickets.map((t) => t.jobId)).toEqual(first.tickets.map((t) => t.jobId));
  });

  it('prints a change to the stations concerned, and a cancellation to every station', async () => {
    const original = order('o1', 'MT-104');
    const created = (await (await post(original, 'MT-104')).json()) as { tickets: { jobId: string }[] };
    for (const t of created.tickets) await sys.api.waitForState(t.jobId, 'printed');
    const [pizza, cola, salad] = original.items as [OrderItem, OrderItem, OrderItem];
    const changed = { ...original, items: [{ ...pizza, qty: 1 }, { ...cola, qty: 2 }, salad] };
    const put = (body: OrderRequest, key: string) =>
      sys.api.request('/v1/orders', { method: 'PUT', json: body, headers: { 'idempotency-key': key } });
    const res = await put(changed, 'MT-104-change-1');
    expect(res.status).toBe(200);
    const view = (await res.json()) as { tickets: { ticket: string; jobId: string }[] };
    const changes = view.tickets.filter((t) => t.ticket.startsWith('change:'));
    expect(changes.map((t) => t.ticket)).toEqual(['change:pizza#1', 'change:drinks#1']);
    for (const t of changes) await sys.api.waitForState(t.jobId, 'printed');
    const paper = (id: string) => (printers[id] as VirtualPrinter).printedText().replace(/\s+/g, ' ');
    expect(paper('oven')).toContain('改单 CHANGED #37 pizza 订单 Order MT-104');
    expect(paper('oven')).toContain('-1 榴莲比萨 Durian pizza (12寸)');
    expect(paper('bar')).toContain('+1 可乐 Cola');
    expect(paper('kitchen')).not.toContain('改单');
    // The same change again prints nothing more.
    const replay = (await (await put(changed, 'MT-104-change-1')).json()) as typeof view;
    expect(replay.tickets).toHaveLength(view.tickets.length);

    const cancel = () =>
      sys.api.request('/v1/orders/cancel', {
        method: 'POST',
        json: { storeId: 'o1', source: 'meituan', orderNo: 'MT-104' },
        headers: { 'idempotency-key': 'MT-104-cancel' },
      });
    const cancelled = (await (await cancel()).json()) as {
      state: string;
      tickets: { ticket: string; jobId: string }[];
    };
    expect(cancelled.state).toBe('cancelled');
    const notices = cancelled.tickets.filter((t) => t.ticket.startsWith('cancel:'));
    expect(notices.map((t) => t.ticket)).toEqual(['cancel:pizza', 'cancel:drinks', 'cancel:kitchen']);
    for (const t of notices) await sys.api.waitForState(t.jobId, 'printed');
    expect(paper('oven')).toContain('退单 CANCELLED #37 pizza');
    expect(paper('kitchen')).toContain('退单 CANCELLED #37 kitchen');
    expect(paper('kitchen')).toContain('1 x 凯撒沙拉 Caesar salad');
    expect(((await (await cancel()).json()) as typeof cancelled).tickets).toHaveLength(
      cancelled.tickets.length,
    );
    expect((await put(changed, 'MT-104-change-2')).status).toBe(409);
  });

  it("routes items without a station by the store's menu: by sku, then by a part of the name", async () => {
    const menu = {
      rules: [
        { sku: 'COLA-330', station: 'drinks' },
        { name: 'fries', station: 'pizza' },
      ],
    };
    const set = (body: unknown) => sys.api.request('/v1/stores/o1/menu', { method: 'PUT', json: body });
    expect((await set(menu)).status).toBe(200);
    expect(await (await sys.api.request('/v1/stores/o1/menu')).json()).toEqual(menu);
    const refused = await set({ rules: [{ name: 'x', station: 'receipt' }] });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(await refused.json())).toContain('/rules/0/station');

    const o = order('o1', 'MT-105');
    const res = await post(
      {
        ...o,
        items: [
          { name: '薯条 French FRIES', qty: 1, unitPrice: 1200 },
          { sku: 'COLA-330', name: '罐装可乐 Can of cola', qty: 1, unitPrice: 500 },
          { name: '蒜香面包 Garlic bread', qty: 1, unitPrice: 900 },
        ],
      },
      'MT-105',
    );
    expect(res.status).toBe(201);
    const view = (await res.json()) as { tickets: { ticket: string; jobId: string }[] };
    expect(view.tickets.map((t) => t.ticket)).toEqual([
      'kitchen:pizza',
      'kitchen:drinks',
      'kitchen:kitchen',
      'receipt',
      'label',
    ]);
    for (const t of view.tickets) await sys.api.waitForState(t.jobId, 'printed');
    const paper = (id: string) => (printers[id] as VirtualPrinter).printedText().replace(/\s+/g, ' ');
    expect(paper('oven')).toContain('1 x 薯条 French FRIES');
    expect(paper('bar')).toContain('1 x 罐装可乐 Can of cola');
    expect(paper('kitchen')).toContain('1 x 蒜香面包 Garlic bread');
  });

  it("lays out tickets with the store's template, else HQ's, else the built-in one; checks, versions and rolls back", async () => {
    const url = (kind: string, store?: string) => `/v1/templates/${kind}${store ? `?storeId=${store}` : ''}`;
    const put = (kind: string, template: unknown, store?: string) =>
      sys.api.request(url(kind, store), { method: 'PUT', json: { template, comment: 'test' } });
    const inUse = async (kind: string, store?: string) =>
      (
        (await (await sys.api.request(url(kind, store))).json()) as {
          inUse: { from: string; version: number | null };
        }
      ).inUse;
    expect(await inUse('kitchen', 'o1')).toMatchObject({ from: 'built-in', version: null });

    const kitchen = (marker: string, extra: unknown[] = []) => ({
      ...DEFAULT_KITCHEN,
      name: marker,
      blocks: [{ type: 'text', text: `${marker} #{{order.callNo}}` }, ...extra, ...DEFAULT_KITCHEN.blocks],
    });
    // Refused before saving, naming the place: a shape the schema refuses, a Mustache error.
    const shape = await put('kitchen', { ...kitchen('X'), blocks: [{ type: 'hologram' }] });
    expect(shape.status).toBe(400);
    const tag = await put('kitchen', kitchen('X', [{ type: 'text', text: '{{#order.note}}' }]));
    expect(tag.status).toBe(400);
    expect(((await tag.json()) as { error: string }).error).toContain('/blocks/1/text: Unclosed section');
    expect(await inUse('kitchen')).toMatchObject({ from: 'built-in' });

    expect((await put('kitchen', kitchen('HQ-V1'))).status).toBe(200);
    expect((await put('kitchen', kitchen('HQ-V2'))).status).toBe(200);
    expect(await inUse('kitchen', 'o1')).toMatchObject({ from: 'hq', version: 2 });
    const rolled = await sys.api.request('/v1/templates/kitchen/rollback', {
      method: 'POST',
      json: { version: 1 },
    });
    expect(rolled.status).toBe(200);
    const history = (await rolled.json()) as { versions: { version: number; comment: string }[] };
    expect(history.versions.map((v) => [v.version, v.comment])).toEqual([
      [3, 'rollback to version 1'],
      [2, 'test'],
      [1, 'test'],
    ]);
    // A store's own, with a QR of the pickup number: an order without one cannot make it, and
    // the built-in template prints that ticket instead, saying why.
    const own = kitchen('O1-OWN', [{ type: 'qr', data: '{{order.pickupNo}}' }]);
    expect((await put('kitchen', own, 'o1')).status).toBe(200);
    const o = order('o1', 'MT-106');
    const res = await post({ ...o, pickupNo: undefined, items: [o.items[0] as OrderItem] }, 'MT-106');
    expect(res.status).toBe(201);
    const view = (await res.json()) as { tickets: { ticket: string; jobId: string; warning?: string }[] };
    const pizza = view.tickets.find((t) => t.ticket === 'kitchen:pizza');
    expect(pizza?.warning).toContain(
      "the store's kitchen template (version 1) failed, so the built-in one printed it",
    );
    const withPickup = await post(order('o1', 'MT-107'), 'MT-107');
    const tickets = ((await withPickup.json()) as typeof view).tickets;
    for (const t of [...view.tickets, ...tickets]) await sys.api.waitForState(t.jobId, 'printed');
    const oven = (printers.oven as VirtualPrinter).printedText();
    expect(oven).toContain('O1-OWN #37');
    expect(oven).toContain('#MT-106');
    expect(oven).not.toContain('HQ-V1');
  });

  it('`relay templates` shows, sets and previews templates, refusing a broken one with its place', async () => {
    const cli = async (...args: string[]) => {
      const proc = new CliProcess('relay templates', ['relay', 'templates', ...args]);
      return { code: await proc.exited, output: proc.output };
    };
    const data = ['--data-dir', sys.relay.dataDir];
    const shown = await cli('show', 'receipt', '--json', ...data);
    expect(shown.code, shown.output).toBe(0);
    const template = JSON.parse(shown.output) as typeof DEFAULT_RECEIPT;
    expect(template.name).toBe(DEFAULT_RECEIPT.name);

    const dir = e2e.tempDir();
    const file = join(dir, 'receipt.json');
    const marked = {
      ...template,
      blocks: [{ type: 'text', text: 'CLI-RECEIPT {{order.orderNo}}' }, ...template.blocks],
    };
    writeFileSync(file, JSON.stringify(marked));
    const preview = await cli('preview', file, '--profile', 'gprinter-58');
    expect(preview.code, preview.output).toBe(0);
    expect(preview.output).toContain('CLI-RECEIPT 1702339812345678901');
    // 58 mm: no line wider than 32 columns (a Han character takes two).
    const columns = (line: string) => [...line].reduce((n, c) => n + (c.charCodeAt(0) > 0x2e80 ? 2 : 1), 0);
    expect(Math.max(...preview.output.split('\n').map(columns))).toBeLessThanOrEqual(32);

    const set = await cli('set', 'receipt', file, '--store', 'o1', '--comment', 'marked', ...data);
    expect(set.code, set.output).toBe(0);
    expect(set.output).toContain('Saved as version 1 of the receipt template of store o1.');
    const listed = await cli('show', 'receipt', '--store', 'o1', ...data);
    expect(listed.output).toContain("In use: the store's own version 1");
    expect(listed.output).toContain('marked');

    writeFileSync(file, JSON.stringify({ ...template, blocks: [{ type: 'text', text: '{{/nothing}}' }] }));
    const broken = await cli('set', 'receipt', file, ...data);
    expect(broken.code).toBe(1);
    expect(broken.output).toContain('/blocks/0/text');
  });

  it('refuses a bad order naming the field, and makes no ticket of it', async () => {
    const bad = await post({ ...order('o1', 'MT-102'), items: [] }, 'bad-1');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('/items');
    const o = order('o1', 'MT-102');
    const receiptStation = await post(
      { ...o, items: [{ ...(o.items[0] as OrderItem), station: 'receipt' }] },
      'bad-2',
    );
    expect(receiptStation.status).toBe(400);
    expect(JSON.stringify(await receiptStation.json())).toContain('/items/0/station');
    expect((await sys.api.request('/v1/orders?source=meituan&orderNo=MT-102')).status).toBe(404);
  });
});
