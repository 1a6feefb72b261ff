// End to end on what HQ is told about a store, with the real agent (child process) and virtual
// printers: a job for a printer the store does not have is refused with what it has; a job
// waiting behind a printer says why; an offline store's printers read as unknown; and webhooks
// carry real changes only, with the store going offline and online.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoreView } from '../protocol/api.js';
import type { ApiClient, RelayProcess } from './support/e2e.js';
import { CliProcess, E2e, markedJob, waitFor } from './support/e2e.js';

const e2e = new E2e();
afterEach(() => e2e.close());

async function store(api: ApiClient, storeId: string): Promise<StoreView> {
  const res = await api.request(`/v1/stores/${storeId}`);
  expect(res.status).toBe(200);
  return (await res.json()) as StoreView;
}

/** The webhook events the relay recorded for a store, oldest first (its own table, read-only). */
function recordedEvents(
  relay: RelayProcess,
  storeId: string,
): { type: string; data: Record<string, unknown> }[] {
  const db = new Database(join(relay.dataDir, 'relay.db'), { readonly: true });
  try {
    return (
      db.prepare('SELECT type, data FROM relay_events WHERE store_id = ? ORDER BY seq').all(storeId) as {
        type: string;
        data: string;
      }[]
    ).map((r) => ({ type: r.type, data: JSON.parse(r.data) }));
  } finally {
    db.close();
  }
}

describe('end to end: store state as HQ sees it', { timeout: 90_000 }, () => {
  it('refuses a job for a printer the store does not have, naming its printers, once they are known', async () => {
    const { relay, api } = await e2e.relay();
    const creds = await relay.addStore('s422');
    // Not known yet: accepted, and the answer says the printer could not be checked.
    const early = await api.postJob({ ...markedJob('s422', 'EARLY'), printer: 'bar' }, 'early');
    expect(early.status).toBe(201);
    expect(((await early.json()) as { note?: string }).note).toContain(
      's422\'s agent has not reported its printers yet: printer "bar" is checked when the agent receives the job',
    );

    const counter = await e2e.printer();
    const kitchen = await e2e.printer();
    const agent = await e2e.agent(relay, creds, [
      { id: 'counter', uri: counter.uri, roles: ['receipt'] },
      { id: 'k1', uri: kitchen.uri, roles: ['kitchen', 'expo'] },
    ]);
    await agent.start();
    await waitFor(async () => (await store(api, 's422')).printers.length === 2, 'the hello', 15_000);

    const refused = await api.postJob({ ...markedJob('s422', 'BAR'), printer: 'bar' }, 'bar');
    expect(refused.status).toBe(422);
    const body = (await refused.json()) as { error: string; code: string; issues: { path: string }[] };
    expect(body.error).toBe(
      'store s422 has no printer or role "bar": its printers are counter (receipt); k1 (kitchen, expo)',
    );
    expect(body.code).toBe('unprocessable');
    expect(body.issues[0]?.path).toBe('/printer');
    const ok = await api.postJob({ ...markedJob('s422', 'EXPO'), printer: 'expo' }, 'expo');
    expect(ok.status).toBe(201);
    expect((await ok.json()) as object).not.toHaveProperty('note');
  });

  it('says why a job waits (the printer and its fault, or the store offline) and shows an offline store’s printers as unknown', async () => {
    const { relay, api } = await e2e.relay();
    const { printer, agent } = await e2e.store(relay, api, 'wait1', { faults: ['paper-out'] });
    const jobId = await api.submit(markedJob('wait1', 'WAIT-1'), 'wait-1');
    const waiting = await waitFor(
      async () => {
        const job = await api.job(jobId);
        return job.state === 'delivered' && job.waiting?.reasons.includes('paper-out') ? job : null;
      },
      'the job to wait for paper',
      15_000,
    );
    expect(waiting.waiting).toEqual({
      printerId: 'counter',
      reasons: ['paper-out'],
      message: 'printer counter is not ready: paper-out',
    });
    printer.setFault('paper-out', false);
    const printed = await api.waitForState(jobId, 'printed');
    expect(printed).not.toHaveProperty('waiting');

    const before = await store(api, 'wait1');
    expect(before.printers[0]).toMatchObject({ ready: true, statusKnown: true });
    await agent.stop();
    const offline = await waitFor(async () => {
      const s = await store(api, 'wait1');
      return s.online ? null : s;
    }, 'the store offline');
    expect(offline.printers[0]).toMatchObject({
      printerId: 'counter',
      ready: null,
      reasons: [],
      statusKnown: false,
      statusAt: before.printers[0]?.statusAt,
    });
    // Its last report is still there, for what it is: the past.
    expect(offline.printers[0]?.status?.connected).toBe(true);

    const later = await api.submit(markedJob('wait1', 'WAIT-2'), 'wait-2');
    expect((await api.job(later)).waiting).toMatchObject({ printerId: null, reasons: ['store-offline'] });
  });

  it('sends status webhooks for real changes only, and store.offline / store.online', async () => {
    const { relay, api } = await e2e.relay();
    const received: { type: string; storeId: string; data: Record<string, unknown> }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    e2e.onClose(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    // Through the running relay, with the default events (all of them).
    const add = new CliProcess('webhooks add', [
      'relay',
      'webhooks',
      'add',
      url,
      '--allow-private',
      '--data-dir',
      relay.dataDir,
    ]);
    expect(await add.exited).toBe(0);
    expect(add.output).toContain(
      '(job.state, printer.status, store.online, store.offline, store.identity-conflict)',
    );

    const { printer, agent } = await e2e.store(relay, api, 'hook1');
    const statusEvents = () => recordedEvents(relay, 'hook1').filter((e) => e.type !== 'job.state');
    await waitFor(
      () => statusEvents().some((e) => e.type === 'printer.status'),
      'the printer reported ready',
    );
    // The agent restarts: the store goes offline and comes back; its printer never changed.
    await agent.stop();
    await waitFor(() => statusEvents().some((e) => e.type === 'store.offline'), 'store.offline');
    await agent.start();
    await waitFor(() => api.storeOnline('hook1'), 'the store online again', 15_000);
    // A real change, after the restart's events in the store's own order.
    printer.setFault('cover-open', true);
    await waitFor(
      () => statusEvents().some((e) => (e.data.reasons as string[] | undefined)?.includes('cover-open')),
      'the cover-open event',
      15_000,
    );
    expect(statusEvents().map((e) => [e.type, e.data.ready ?? e.data.online])).toEqual([
      ['store.online', true],
      ['printer.status', true],
      ['store.offline', false],
      ['store.online', true],
      ['printer.status', false],
    ]);
    // And the subscribed URL got them.
    await waitFor(
      () => received.filter((e) => e.storeId === 'hook1' && e.type !== 'job.state').length === 5,
      'the five deliveries',
      15_000,
    );
    expect(received.filter((e) => e.type === 'store.offline')[0]?.data).toMatchObject({
      storeId: 'hook1',
      online: false,
    });
  });
});
