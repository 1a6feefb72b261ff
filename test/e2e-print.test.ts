// End to end with real parts: an order over HTTP to the relay (child process), MQTT to the
// store agent (child process), ESC/POS to a virtual printer, and back up to the job timeline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoOrder } from '../cli/commands/demo.js';
import type { JobRequest } from '../protocol/job.js';
import { E2e, markedJob, ticketsWith } from './support/e2e.js';

// One relay, store s1 with its agent and a receipt printer ("counter") for the whole file:
// every test sends orders of its own, told apart on paper by their markers.
const e2e = new E2e();
let sys: Awaited<ReturnType<typeof system>>;
beforeAll(async () => {
  sys = await system();
}, 60_000);
afterAll(() => e2e.close());

async function system() {
  const { relay, api } = await e2e.relay();
  return { api, ...(await e2e.store(relay, api, 's1')) };
}

async function errorOf(
  res: Response,
): Promise<{ error: string; issues?: { path: string; message: string }[] }> {
  return (await res.json()) as { error: string; issues?: { path: string; message: string }[] };
}

describe('end to end: an order comes out on paper', { timeout: 60_000 }, () => {
  it('prints a 美团 order sent over HTTP, and the job reads printed with its whole timeline', async () => {
    const { api, printer, agent } = sys;
    const order = { ...demoOrder('receipt', 'E2E0001'), storeId: 's1' };
    const jobId = await api.submit(order, 'meituan-E2E0001-receipt');

    const job = await api.waitForState(jobId, 'printed');
    expect(job.timeline.map((e) => e.state)).toEqual([
      'accepted',
      'sent',
      'delivered',
      'printing',
      'printed',
    ]);
    expect(job.printerId).toBe('counter');
    expect(job.orderRef).toEqual({ source: 'meituan', orderNo: 'E2E0001' });
    // The paper shows the Chinese text, the prices, the QR code and the cut, once.
    expect(ticketsWith(printer, '订单号: E2E0001')).toBe(1);
    const paper = printer.printedText();
    expect(paper).toContain('薄饼工坊');
    expect(paper).toMatch(/实付 \(在线支付\)\s+￥308\.00/);
    expect(paper).toContain('[QR https://h5.waimai.meituan.com/order?no=E2E0001]');
    expect(printer.printed.at(-1)).toMatchObject({ kind: 'cut' });
    expect((await agent.localJob(jobId)).state).toBe('printed');
  });

  it('prints one ticket when the same Idempotency-Key comes twice, before and after printing', async () => {
    const { api, printer } = sys;
    const body = markedJob('s1', 'IDEM-1');
    const first = await api.postJob(body, 'order-IDEM-1');
    const second = await api.postJob(body, 'order-IDEM-1');
    expect([first.status, second.status]).toEqual([201, 201]);
    const { jobId } = (await first.json()) as { jobId: string };
    expect(((await second.json()) as { jobId: string }).jobId).toBe(jobId);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    await api.waitForState(jobId, 'printed');

    const third = await api.postJob(body, 'order-IDEM-1');
    expect(((await third.json()) as { jobId: string }).jobId).toBe(jobId);
    // A later order printing proves the agent had every chance to print a second copy.
    await api.waitForState(await api.submit(markedJob('s1', 'IDEM-2'), 'order-IDEM-2'), 'printed');
    expect(ticketsWith(printer, 'IDEM-1')).toBe(1);
    expect(ticketsWith(printer, 'IDEM-2')).toBe(1);
  });

  it('answers malformed and oversized bodies with clear 4xx errors, and the next valid job still prints', async () => {
    const { api, printer } = sys;
    const post = (body: string, key = 'bad') =>
      api.request('/v1/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body,
      });

    let res = await post('{"storeId": "s1", "printer": ');
    expect(res.status).toBe(400);
    expect((await errorOf(res)).error).toMatch(/not valid JSON/);

    const wrongBlock = { ...markedJob('s1', 'BAD-1'), ticket: { blocks: [{ type: 'txt', text: 'x' }] } };
    res = await post(JSON.stringify(wrongBlock), 'bad-1');
    expect(res.status).toBe(400);
    expect((await errorOf(res)).issues?.map((i) => i.path)).toContain('/ticket/blocks/0/type');

    res = await post(JSON.stringify({ ...markedJob('s1', 'BAD-2'), copies: 0 }), 'bad-2');
    expect(res.status).toBe(400);
    expect((await errorOf(res)).issues?.map((i) => i.path)).toContain('/copies');

    // 3 MiB: over the relay's 2 MiB limit.
    const huge = markedJob('s1', 'BAD-3', { raw: 'A'.repeat(3 * 1024 * 1024) } as Partial<JobRequest>);
    res = await post(JSON.stringify({ ...huge, ticket: undefined }), 'bad-3');
    expect(res.status).toBe(413);
    expect((await errorOf(res)).error).toMatch(/too large/);

    res = await api.request('/v1/jobs', { method: 'POST', json: markedJob('s1', 'BAD-4') });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).issues?.[0]?.path).toBe('/headers/idempotency-key');

    const jobId = await api.submit(markedJob('s1', 'GOOD-1'), 'good-1');
    await api.waitForState(jobId, 'printed');
    expect(ticketsWith(printer, 'GOOD-1')).toBe(1);
    for (const marker of ['BAD-1', 'BAD-2', 'BAD-3', 'BAD-4']) expect(ticketsWith(printer, marker)).toBe(0);
  });
});
