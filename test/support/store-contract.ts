// The relay store contract: what every implementation of Directory and JobStore
// (relay/store/job-store.ts) must do, as one suite each implementation runs with its own
// factory (test/relay-store.test.ts for SQLite). Only the interfaces are used, so a new
// backend passes by behaving the same, not by sharing code. Durability (group commit, fsync)
// is an implementation's own affair and is tested beside it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PrinterInfo } from '../../protocol/messages.js';
import { type PrinterStatus, unknownPrinterStatus } from '../../protocol/status.js';
import {
  DuplicateError,
  type NewJob,
  type OrderRecord,
  type RelayStore,
  type WebhookEventType,
  type WebhookRecord,
} from '../../relay/store/job-store.js';

const T0 = Date.UTC(2026, 0, 1, 12);
const MIN = 60_000;

function newJob(overrides: Partial<NewJob> & { id: string }): NewJob {
  return {
    storeId: 's1',
    printer: 'kitchen',
    kind: 'ticket',
    payload: '{"lines":["宫保鸡丁 x1"]}',
    copies: 1,
    onExpiry: 'expire',
    expiresAt: T0 + 60 * MIN,
    createdAt: T0,
    orderRef: null,
    reprintOf: null,
    reprintCount: 0,
    idempotency: null,
    ...overrides,
  };
}

function status(overrides: Partial<PrinterStatus> = {}): PrinterStatus {
  return { ...unknownPrinterStatus(new Date(T0)), connected: true, online: true, paper: 'ok', ...overrides };
}

function webhook(id: string, events: WebhookEventType[], stores: WebhookRecord['stores']): WebhookRecord {
  return { id, url: `https://hooks.example/${id}`, secret: `secret-${id}`, events, stores, createdAt: T0 };
}

/** Registers the contract's tests; `open` makes a new, empty store for each test. */
function order(storeId: string, orderNo: string, at: number, body = '{}'): OrderRecord {
  return { storeId, source: 'meituan', orderNo, body, cancelledAt: null, updatedAt: at };
}

export function storeContract(name: string, open: () => RelayStore | Promise<RelayStore>): void {
  describe(`relay store contract: ${name}`, () => {
    let store: RelayStore;
    const online = (storeId: string, connectionId = `c-${storeId}`) =>
      store.setPresence(storeId, { online: true, connectionId, agentVersion: '1.2.3', at: T0 });

    beforeEach(async () => {
      store = await open();
      await store.createStore({ id: 's1', name: '一号店 Store 1', createdAt: T0 });
      await store.createStore({ id: 's2', name: 'Store 2', createdAt: T0 + 1 });
    });

    afterEach(async () => {
      await store.close();
    });

    describe('stores', () => {
      it('creates, finds and lists stores, offline at first, and refuses an id twice', async () => {
        expect(await store.getStore('s1')).toEqual({
          id: 's1',
          name: '一号店 Store 1',
          createdAt: T0,
          online: false,
          connectionId: null,
          lastSeenAt: null,
          agentVersion: null,
          instanceId: null,
          health: null,
          healthAt: null,
          disabledAt: null,
        });
        expect((await store.listStores()).map((s) => s.id)).toEqual(['s1', 's2']);
        expect(await store.storeOnline('s1')).toBe(false);
        expect(await store.storeOnline('nope')).toBeNull();
        expect(await store.getStore('nope')).toBeNull();
        await expect(store.createStore({ id: 's1', name: 'again', createdAt: T0 })).rejects.toBeInstanceOf(
          DuplicateError,
        );
        expect((await store.getStore('s1'))?.name).toBe('一号店 Store 1');
      });
    });

    describe('operator controls', () => {
      it('disables and enables a store, and tells what a new job is checked against', async () => {
        expect(await store.storeRouting('s1')).toEqual({
          disabled: false,
          printersKnown: false,
          printers: [],
        });
        expect(await store.storeRouting('nope')).toBeNull();
        await store.recordHello('s1', {
          agentVersion: '1.0.0',
          instanceId: 'i1',
          printers: [
            { id: 'counter', roles: ['receipt'] },
            { id: 'k1', roles: ['kitchen', 'bar'] },
          ],
          at: T0,
          statusAt: T0,
        });
        expect(await store.storeRouting('s1')).toEqual({
          disabled: false,
          printersKnown: true,
          printers: [
            { id: 'counter', roles: ['receipt'] },
            { id: 'k1', roles: ['kitchen', 'bar'] },
          ],
        });
        expect(await store.setStoreDisabled('s1', T0 + 1)).toBe(true);
        expect((await store.getStore('s1'))?.disabledAt).toBe(T0 + 1);
        expect((await store.storeRouting('s1'))?.disabled).toBe(true);
        expect(await store.setStoreDisabled('s1', null)).toBe(true);
        expect((await store.getStore('s1'))?.disabledAt).toBeNull();
        expect(await store.setStoreDisabled('nope', T0)).toBe(false);
      });

      it('revokes every agent credential of a store but the one kept, and voids its unused codes', async () => {
        for (const [id, storeId] of [
          ['a1', 's1'],
          ['a2', 's1'],
          ['a3', 's1'],
          ['b1', 's2'],
        ] as const)
          await store.addAgentCredential({ id, storeId, secretHash: 'h', createdAt: T0, revokedAt: null });
        expect(await store.revokeAgentCredentials('s1', T0 + 5, 'a3')).toBe(2);
        expect((await store.getAgentCredential('a1'))?.revokedAt).toBe(T0 + 5);
        expect((await store.getAgentCredential('a3'))?.revokedAt).toBeNull();
        expect((await store.getAgentCredential('b1'))?.revokedAt).toBeNull();
        expect(await store.revokeAgentCredentials('s1', T0 + 6)).toBe(1);
        expect((await store.getAgentCredential('a3'))?.revokedAt).toBe(T0 + 6);

        const code = { codeHash: 'h', createdAt: T0, expiresAt: T0 + 60 * MIN, usedAt: null };
        await store.addEnrolmentCode({ ...code, id: 'C1', storeId: 's1' });
        await store.addEnrolmentCode({ ...code, id: 'C2', storeId: 's2' });
        expect(await store.voidEnrolmentCodes('s1', T0 + 7)).toBe(1);
        expect(await store.useEnrolmentCode('C1', T0 + 8)).toBe(false);
        expect(await store.useEnrolmentCode('C2', T0 + 8)).toBe(true);
      });

      it('removes a store with its printers, credentials, codes and jobs', async () => {
        await store.addAgentCredential({
          id: 'a1',
          storeId: 's1',
          secretHash: 'h',
          createdAt: T0,
          revokedAt: null,
        });
        await store.setPrinterStatus('s1', 'p1', status(), T0);
        await store.createJob(newJob({ id: 'j1' }));
        await store.createJob(newJob({ id: 'j2', storeId: 's2' }));
        await store.putOrder(order('s1', 'MT-1', T0));
        expect(await store.removeStore('s1')).toBe(true);
        expect(await store.getOrder('s1', 'meituan', 'MT-1')).toBeNull();
        expect(await store.getStore('s1')).toBeNull();
        expect(await store.getAgentCredential('a1')).toBeNull();
        expect(await store.listPrinters('s1')).toEqual([]);
        expect(await store.getJob('j1')).toBeNull();
        expect(await store.getJob('j2')).not.toBeNull();
        expect(await store.removeStore('s1')).toBe(false);
        // The id is free again.
        await store.createStore({ id: 's1', name: 'again', createdAt: T0 });
      });
    });

    describe('credentials', () => {
      it('keeps agent credentials by id', async () => {
        const cred = { id: 'a1', storeId: 's1', secretHash: 'hash', createdAt: T0, revokedAt: null };
        await store.addAgentCredential(cred);
        expect(await store.getAgentCredential('a1')).toEqual(cred);
        expect(await store.getAgentCredential('a2')).toBeNull();
      });

      it('uses an enrolment code once, and never after it expired', async () => {
        const code = {
          id: 'e1',
          storeId: 's1',
          codeHash: 'h',
          createdAt: T0,
          expiresAt: T0 + MIN,
          usedAt: null,
        };
        await store.addEnrolmentCode(code);
        await store.addEnrolmentCode({ ...code, id: 'e2' });
        await expect(store.addEnrolmentCode(code)).rejects.toBeInstanceOf(DuplicateError);
        expect(await store.getEnrolmentCode('e1')).toEqual(code);
        expect(await store.useEnrolmentCode('e1', T0 + 1)).toBe(true);
        expect(await store.useEnrolmentCode('e1', T0 + 2)).toBe(false);
        expect((await store.getEnrolmentCode('e1'))?.usedAt).toBe(T0 + 1);
        expect(await store.useEnrolmentCode('e2', T0 + MIN)).toBe(false);
        expect(await store.useEnrolmentCode('unknown', T0)).toBe(false);
        expect(await store.getEnrolmentCode('unknown')).toBeNull();
      });

      it('keeps API keys with their store scope and revokes them once', async () => {
        const all = {
          id: 'k1',
          name: 'POS',
          secretHash: 'h1',
          stores: 'all' as const,
          createdAt: T0,
          revokedAt: null,
        };
        const some = { ...all, id: 'k2', name: '美团', stores: ['s2', 's1'], createdAt: T0 + 1 };
        await store.addApiKey(all);
        await store.addApiKey(some);
        expect(await store.getApiKey('k2')).toEqual(some);
        expect(await store.listApiKeys()).toEqual([all, some]);
        expect(await store.revokeApiKey('k1', T0 + 5)).toBe(true);
        expect(await store.revokeApiKey('k1', T0 + 6)).toBe(false);
        expect(await store.revokeApiKey('unknown', T0)).toBe(false);
        expect((await store.getApiKey('k1'))?.revokedAt).toBe(T0 + 5);
        expect(await store.getApiKey('unknown')).toBeNull();
      });
    });

    describe('webhooks', () => {
      it('adds, lists and removes webhook subscriptions', async () => {
        const a = webhook('w1', ['job.state'], 'all');
        const b = { ...webhook('w2', ['job.state', 'printer.status'], ['s2']), createdAt: T0 + 1 };
        await store.addWebhook(a);
        await store.addWebhook(b);
        expect(await store.listWebhooks()).toEqual([a, b]);
        expect(await store.removeWebhook('w1')).toBe(true);
        expect(await store.removeWebhook('w1')).toBe(false);
        expect(await store.listWebhooks()).toEqual([b]);
      });
    });

    describe('presence', () => {
      it('marks a store online, and offline only from its current connection', async () => {
        expect(await online('s1', 'c1')).toBe(true);
        expect(await store.getStore('s1')).toMatchObject({
          online: true,
          connectionId: 'c1',
          agentVersion: '1.2.3',
          lastSeenAt: T0,
        });
        expect(await store.storeOnline('s1')).toBe(true);
        // An older connection's last will arriving after the new connection came.
        const offline = { online: false, agentVersion: '1.2.3', at: T0 + 1 };
        expect(await store.setPresence('s1', { ...offline, connectionId: 'c0' })).toBe(false);
        expect(await store.storeOnline('s1')).toBe(true);
        expect(await store.setPresence('s1', { ...offline, connectionId: 'c1' })).toBe(true);
        expect(await store.getStore('s1')).toMatchObject({ online: false, lastSeenAt: T0 + 1 });
        expect(await store.setPresence('nope', { ...offline, online: true, connectionId: 'c' })).toBe(false);
      });

      it('notes when an agent was last heard from, and marks every store offline at start', async () => {
        await online('s1');
        await online('s2');
        await store.touchStore('s1', T0 + 10);
        expect((await store.getStore('s1'))?.lastSeenAt).toBe(T0 + 10);
        await store.markAllOffline();
        expect((await store.listStores()).map((s) => [s.online, s.connectionId])).toEqual([
          [false, null],
          [false, null],
        ]);
      });
    });

    describe('printers', () => {
      const printer = (id: string, s?: PrinterStatus): PrinterInfo => ({
        id,
        name: `${id} printer`,
        roles: [id],
        ...(s ? { status: s } : {}),
      });

      it('records a hello: online, instance id, printers replaced, their status kept', async () => {
        const first = await store.recordHello('s1', {
          agentVersion: '1.0.0',
          instanceId: 'i1',
          printers: [printer('kitchen'), printer('receipt', status())],
          at: T0,
          statusAt: T0,
        });
        expect(first).toEqual({ previousInstanceId: null });
        expect(await store.getStore('s1')).toMatchObject({
          online: true,
          instanceId: 'i1',
          agentVersion: '1.0.0',
          lastSeenAt: T0,
        });
        const second = await store.recordHello('s1', {
          agentVersion: '1.0.1',
          instanceId: 'i2',
          printers: [printer('receipt')],
          at: T0 + 5,
          statusAt: T0 + 5,
        });
        expect(second).toEqual({ previousInstanceId: 'i1' });
        const printers = await store.listPrinters('s1');
        expect(printers).toEqual([
          {
            storeId: 's1',
            printerId: 'receipt',
            info: { id: 'receipt', name: 'receipt printer', roles: ['receipt'] },
            status: status(),
            statusAt: T0,
            health: null,
          },
        ]);
        expect(await store.listPrinters('s2')).toEqual([]);
      });

      it('applies a printer status unless a newer one is known; reports a change only when there is one', async () => {
        const paperOut = status({ paper: 'out', online: false });
        expect(await store.setPrinterStatus('s1', 'p1', paperOut, T0 + 10)).toBe(true);
        // Same status again, only newer: stored, but nothing a person would notice changed.
        const again = { ...paperOut, updatedAt: new Date(T0 + 20).toISOString() };
        expect(await store.setPrinterStatus('s1', 'p1', again, T0 + 20)).toBe(false);
        // Older than what is known: ignored.
        expect(await store.setPrinterStatus('s1', 'p1', status(), T0 + 15)).toBe(false);
        expect(await store.listPrinters('s1')).toMatchObject([
          { printerId: 'p1', status: again, statusAt: T0 + 20, info: null },
        ]);
        expect(await store.setPrinterStatus('s1', 'p1', status(), T0 + 30)).toBe(true);
      });

      it('records health for the store and each printer', async () => {
        const health = { printerId: 'p1', queueDepth: 2, printedJobs: 40, paperUsedMm: 1234.5 };
        await store.recordHealth('s1', {
          agentVersion: '2.0.0',
          printers: [health],
          at: T0 + 7,
          raw: { uptimeSeconds: 9, printers: [health] },
        });
        expect(await store.getStore('s1')).toMatchObject({
          agentVersion: '2.0.0',
          health: { uptimeSeconds: 9, printers: [health] },
          healthAt: T0 + 7,
          lastSeenAt: T0 + 7,
        });
        expect(await store.listPrinters('s1')).toEqual([
          { storeId: 's1', printerId: 'p1', info: null, status: null, statusAt: null, health },
        ]);
      });
    });

    describe('jobs', () => {
      it('creates a job, accepted, with its first timeline entry', async () => {
        const job = newJob({ id: 'j1', orderRef: { source: 'meituan', orderNo: 'MT-1' } });
        const result = await store.createJob(job);
        expect(result.outcome).toBe('created');
        const { idempotency: _, ...fields } = job;
        expect(result.job).toEqual({
          ...fields,
          updatedAt: T0,
          state: 'accepted',
          printerId: null,
          cancelRequestedAt: null,
          cancelSentAt: null,
          lastSentAt: null,
          sendCount: 0,
        });
        expect(await store.getJob('j1')).toEqual(result.job);
        expect(await store.storeOfJob('j1')).toBe('s1');
        expect(await store.storeOfJob('nope')).toBeNull();
        expect(await store.getJob('nope')).toBeNull();
        expect(await store.timelines(['j1', 'nope'])).toEqual(
          new Map([
            ['j1', [{ state: 'accepted', at: T0, detail: null }]],
            ['nope', []],
          ]),
        );
      });

      it('replays a job for the same idempotency key and body, and reports a conflict for another body', async () => {
        const idem = { apiKeyId: 'k1', key: 'order-1', requestHash: 'h1' };
        const first = await store.createJob(newJob({ id: 'j1', idempotency: idem }));
        const replay = await store.createJob(newJob({ id: 'j2', idempotency: idem }));
        expect(replay).toEqual({ outcome: 'replayed', job: first.job });
        const conflict = await store.createJob(
          newJob({ id: 'j3', idempotency: { ...idem, requestHash: 'h2' } }),
        );
        expect(conflict).toEqual({ outcome: 'conflict', job: first.job });
        // The key belongs to its API key: another key makes a new job.
        const other = await store.createJob(newJob({ id: 'j4', idempotency: { ...idem, apiKeyId: 'k2' } }));
        expect(other.outcome).toBe('created');
        expect(await store.getJob('j2')).toBeNull();
      });

      it('numbers reprints, refusing the same reprint twice', async () => {
        await store.createJob(newJob({ id: 'j1' }));
        await store.createJob(newJob({ id: 'r1', reprintOf: 'j1', reprintCount: 1, createdAt: T0 + 1 }));
        await expect(
          store.createJob(newJob({ id: 'r1b', reprintOf: 'j1', reprintCount: 1, createdAt: T0 + 2 })),
        ).rejects.toBeInstanceOf(DuplicateError);
        expect(await store.getJob('r1b')).toBeNull();
        expect(await store.countReprints('j1')).toBe(1);
        expect(await store.countReprints('r1')).toBe(0);
        expect((await store.timelines(['r1'])).get('r1')).toEqual([
          { state: 'accepted', at: T0 + 1, detail: 'reprint #1 of j1' },
        ]);
      });

      it('lists jobs newest first, by store scope, store, order, source, state and time', async () => {
        await store.createJob(newJob({ id: 'a', orderRef: { source: 'meituan', orderNo: '1' } }));
        await store.createJob(
          newJob({ id: 'b', storeId: 's2', createdAt: T0 + 1, orderRef: { source: 'eleme', orderNo: '1' } }),
        );
        await store.createJob(newJob({ id: 'c', createdAt: T0 + 2 }));
        await store.transitionJob('c', 'printed', { at: T0 + 3 });
        const ids = async (f: Partial<Parameters<RelayStore['listJobs']>[0]>) =>
          (await store.listJobs({ storeIds: 'all', limit: 10, ...f })).map((j) => j.id);
        expect(await ids({})).toEqual(['c', 'b', 'a']);
        expect(await ids({ storeIds: ['s2'] })).toEqual(['b']);
        expect(await ids({ storeIds: [] })).toEqual([]);
        expect(await ids({ storeId: 's1' })).toEqual(['c', 'a']);
        expect(await ids({ storeIds: ['s2'], storeId: 's1' })).toEqual([]);
        expect(await ids({ orderNo: '1' })).toEqual(['b', 'a']);
        expect(await ids({ orderNo: '1', source: 'meituan' })).toEqual(['a']);
        expect(await ids({ state: 'printed' })).toEqual(['c']);
        expect(await ids({ since: T0 + 1 })).toEqual(['c', 'b']);
        expect(await ids({ limit: 1 })).toEqual(['c']);
      });

      it('moves a job only along allowed transitions, recording each on its timeline', async () => {
        await store.createJob(newJob({ id: 'j1' }));
        const sent = await store.transitionJob('j1', 'sent', { at: T0 + 1 });
        expect(sent).toMatchObject({ state: 'sent', updatedAt: T0 + 1, printerId: null });
        expect(await store.transitionJob('j1', 'accepted', { at: T0 + 2 })).toBeNull();
        // A relay decision made on an earlier read does not apply once the job moved on.
        expect(await store.transitionJob('j1', 'expired', { at: T0 + 2, onlyFrom: ['accepted'] })).toBeNull();
        const printing = await store.transitionJob('j1', 'printing', {
          at: T0 + 3,
          printerId: 'p1',
          detail: 'copy 1 of 1',
        });
        expect(printing).toMatchObject({ state: 'printing', printerId: 'p1' });
        // A later change without a printer keeps the one known.
        expect(await store.transitionJob('j1', 'printed', { at: T0 + 4 })).toMatchObject({
          state: 'printed',
          printerId: 'p1',
        });
        expect(await store.transitionJob('j1', 'failed', { at: T0 + 5 })).toBeNull();
        expect(await store.transitionJob('nope', 'sent', { at: T0 })).toBeNull();
        expect((await store.timelines(['j1'])).get('j1')).toEqual([
          { state: 'accepted', at: T0, detail: null },
          { state: 'sent', at: T0 + 1, detail: null },
          { state: 'printing', at: T0 + 3, detail: 'copy 1 of 1' },
          { state: 'printed', at: T0 + 4, detail: null },
        ]);
      });

      it('keeps what the agent physically did after the relay expired or cancelled a job', async () => {
        await store.createJob(newJob({ id: 'j1' }));
        await store.transitionJob('j1', 'expired', { at: T0 + 1 });
        expect(await store.transitionJob('j1', 'printed', { at: T0 + 2 })).toMatchObject({
          state: 'printed',
        });
      });

      it('counts and lists open jobs per store', async () => {
        await store.createJob(newJob({ id: 'a' }));
        await store.createJob(newJob({ id: 'b', createdAt: T0 + 1 }));
        await store.createJob(newJob({ id: 'c', storeId: 's2' }));
        await store.transitionJob('a', 'printed', { at: T0 + 2 });
        await store.createJob(newJob({ id: 'd', createdAt: T0 + 3 }));
        await store.transitionJob('d', 'held', { at: T0 + 4 });
        expect((await store.openJobs('s1')).map((j) => j.id)).toEqual(['b', 'd']);
        expect(await store.openJobCounts()).toEqual(
          new Map([
            ['s1', 2],
            ['s2', 1],
          ]),
        );
      });

      it('claims a send once, moving accepted to sent, and again only after resendBefore', async () => {
        await store.createJob(newJob({ id: 'j1' }));
        expect(await store.markSent('j1', T0 + 10, T0)).toBe(true);
        expect(await store.getJob('j1')).toMatchObject({ state: 'sent', lastSentAt: T0 + 10, sendCount: 1 });
        // Another path sent it at T0 + 10: a claim that only wants sends before T0 + 10 loses.
        expect(await store.markSent('j1', T0 + 11, T0 + 10)).toBe(false);
        expect(await store.markSent('j1', T0 + 20, T0 + 11)).toBe(true);
        expect(await store.getJob('j1')).toMatchObject({ state: 'sent', lastSentAt: T0 + 20, sendCount: 2 });
        expect((await store.timelines(['j1'])).get('j1')?.map((t) => t.state)).toEqual(['accepted', 'sent']);
        await store.transitionJob('j1', 'delivered', { at: T0 + 21 });
        expect(await store.markSent('j1', T0 + 30, T0 + 1000)).toBe(false);
        expect(await store.markSent('nope', T0, T0)).toBe(false);
      });

      it('picks the jobs to send: accepted, or sent long enough ago, of online stores, not cancelled', async () => {
        await store.createJob(newJob({ id: 'new' }));
        await store.createJob(newJob({ id: 'old-send', createdAt: T0 + 1 }));
        await store.createJob(newJob({ id: 'fresh-send', createdAt: T0 + 2 }));
        await store.createJob(newJob({ id: 'cancelled', createdAt: T0 + 3 }));
        await store.createJob(newJob({ id: 'offline', storeId: 's2', createdAt: T0 + 4 }));
        await store.markSent('old-send', T0 + 10, T0);
        await store.markSent('fresh-send', T0 + 50, T0);
        await store.requestCancel('cancelled', T0 + 5);
        await online('s1');
        const ids = async (resendBefore: number, limit = 10) =>
          (await store.jobsToSend(resendBefore, limit)).map((j) => j.id);
        expect(await ids(T0 + 20)).toEqual(['new', 'old-send']);
        expect(await ids(T0 + 20, 1)).toEqual(['new']);
        await online('s2');
        expect(await ids(T0 + 20)).toEqual(['new', 'old-send', 'offline']);
      });

      it('records a cancel request once, and picks the cancels to send', async () => {
        await store.createJob(newJob({ id: 'j1' }));
        await store.createJob(newJob({ id: 'done', createdAt: T0 + 1 }));
        await store.transitionJob('done', 'printed', { at: T0 + 2 });
        expect(await store.requestCancel('j1', T0 + 5)).toMatchObject({
          id: 'j1',
          cancelRequestedAt: T0 + 5,
        });
        expect(await store.requestCancel('j1', T0 + 6)).toMatchObject({ cancelRequestedAt: T0 + 5 });
        await store.requestCancel('done', T0 + 7);
        expect(await store.requestCancel('nope', T0)).toBeNull();
        expect(await store.cancelsToSend(T0 + 100, 10)).toEqual([]); // s1 is offline
        await online('s1');
        expect((await store.cancelsToSend(T0 + 100, 10)).map((j) => j.id)).toEqual(['j1']);
        await store.markCancelSent('j1', T0 + 50);
        expect((await store.getJob('j1'))?.cancelSentAt).toBe(T0 + 50);
        expect(await store.cancelsToSend(T0 + 50, 10)).toEqual([]);
        expect((await store.cancelsToSend(T0 + 51, 10)).map((j) => j.id)).toEqual(['j1']);
      });

      it('finds undeliverable jobs: expired ones set to expire, and any past the lifetime limit', async () => {
        await store.createJob(newJob({ id: 'expire', expiresAt: T0 + 10 }));
        await store.createJob(
          newJob({ id: 'hold', onExpiry: 'hold', expiresAt: T0 + 10, createdAt: T0 + 1 }),
        );
        await store.createJob(newJob({ id: 'later', expiresAt: T0 + 1000, createdAt: T0 + 2 }));
        await store.createJob(newJob({ id: 'delivered', expiresAt: T0 + 10, createdAt: T0 + 3 }));
        await store.transitionJob('delivered', 'delivered', { at: T0 + 4 });
        const ids = async (now: number, createdBefore: number) =>
          (await store.undeliverableJobs(now, createdBefore, 10)).map((j) => j.id);
        expect(await ids(T0 + 9, T0)).toEqual([]);
        expect(await ids(T0 + 10, T0)).toEqual(['expire']);
        expect(await ids(T0 + 10, T0 + 2)).toEqual(['expire', 'hold']);
        expect(await ids(T0 + 10, T0 + 100)).toEqual(['expire', 'hold', 'later']);
      });

      it('remembers which agent events it has handled, per store', async () => {
        expect(await store.agentEventSeen('s1', 'ev1')).toBe(false);
        await store.rememberAgentEvent('s1', 'ev1', T0);
        await store.rememberAgentEvent('s1', 'ev1', T0 + 1);
        expect(await store.agentEventSeen('s1', 'ev1')).toBe(true);
        expect(await store.agentEventSeen('s2', 'ev1')).toBe(false);
      });
    });

    describe('events for webhooks', () => {
      /** The types and data of the events queued since the last call. */
      const events = async () => {
        await store.fanOutEvents(100);
        const due = await store.dueDeliveries(T0 + 1000 * MIN, 100);
        for (const d of due) await store.markDelivered(d.webhook.id, d.event.seq, T0);
        return due.map((d) => ({ type: d.event.type, data: d.event.data as Record<string, unknown> }));
      };

      it('reports store presence and printer status only when they differ from what was last reported', async () => {
        await store.addWebhook(webhook('all', ['printer.status', 'store.online', 'store.offline'], 'all'));
        const hello = (at: number, s: PrinterStatus) =>
          store.recordHello('s1', {
            agentVersion: '1.0.0',
            instanceId: 'i1',
            printers: [{ id: 'p1', roles: ['receipt'], status: s }],
            at,
            statusAt: at,
          });
        await online('s1', 'c1');
        // A hello's statuses are kept, not reported: the agent has just connected.
        await hello(T0, status());
        expect((await store.listPrinters('s1'))[0]?.status).toEqual(status());
        expect(await events()).toEqual([
          { type: 'store.online', data: expect.objectContaining({ storeId: 's1', online: true }) },
        ]);
        expect(await store.reportPrinterStatuses('s1')).toBe(1);
        expect(await store.reportPrinterStatuses('s1')).toBe(0);
        expect(await events()).toEqual([
          { type: 'printer.status', data: expect.objectContaining({ printerId: 'p1', ready: true }) },
        ]);
        // The agent restarts: offline, online, a hello before it reached the printer, a status
        // held back, then the printer as it was. Only the store's presence changed.
        await store.setPresence('s1', {
          online: false,
          connectionId: 'c1',
          agentVersion: '1.0.0',
          at: T0 + 1,
        });
        await online('s1', 'c2');
        await hello(T0 + 2, unknownPrinterStatus(new Date(T0 + 2)));
        const offline = status({ online: false, updatedAt: new Date(T0 + 3).toISOString() });
        expect(await store.setPrinterStatus('s1', 'p1', offline, T0 + 3, { report: false })).toBe(false);
        expect((await store.listPrinters('s1'))[0]?.status).toEqual(offline);
        const ready = status({ updatedAt: new Date(T0 + 4).toISOString() });
        expect(await store.setPrinterStatus('s1', 'p1', ready, T0 + 4)).toBe(false);
        expect(await store.reportPrinterStatuses('s1')).toBe(0);
        expect((await events()).map((e) => e.type)).toEqual(['store.offline', 'store.online']);
        // A real change is reported, once.
        const paperOut = status({ paper: 'out', online: false });
        expect(await store.setPrinterStatus('s1', 'p1', paperOut, T0 + 5)).toBe(true);
        expect(await store.setPrinterStatus('s1', 'p1', paperOut, T0 + 6)).toBe(false);
        expect(await events()).toEqual([
          { type: 'printer.status', data: expect.objectContaining({ ready: false, reasons: ['paper-out'] }) },
        ]);
        // A relay restart marks everyone offline without an event; the agent coming back is no change.
        await store.markAllOffline();
        await online('s1', 'c3');
        expect(await events()).toEqual([]);
      });

      it('fans each event out once to the webhooks that want it, with its data', async () => {
        await store.addWebhook(webhook('all-jobs', ['job.state'], 'all'));
        await store.addWebhook(webhook('s2-everything', ['job.state', 'printer.status'], ['s2']));
        await store.createJob(newJob({ id: 'j1', orderRef: { source: 'meituan', orderNo: 'MT-9' } }));
        await store.transitionJob('j1', 'sent', { at: T0 + 1 });
        await store.setPrinterStatus('s2', 'p1', status({ paper: 'out' }), T0 + 2);
        expect(await store.fanOutEvents(100)).toBe(3);
        expect(await store.fanOutEvents(100)).toBe(0);

        const due = await store.dueDeliveries(T0, 100);
        expect(due.map((d) => [d.webhook.id, d.event.type, d.event.storeId, d.attempts])).toEqual([
          ['all-jobs', 'job.state', 's1', 0],
          ['all-jobs', 'job.state', 's1', 0],
          ['s2-everything', 'printer.status', 's2', 0],
        ]);
        const [created, sent, paper] = due.map((d) => d.event);
        expect(created?.data).toMatchObject({
          jobId: 'j1',
          storeId: 's1',
          state: 'accepted',
          at: new Date(T0).toISOString(),
          orderRef: { source: 'meituan', orderNo: 'MT-9' },
        });
        expect(sent?.data).toMatchObject({ jobId: 'j1', state: 'sent', previousState: 'accepted' });
        expect(paper?.data).toMatchObject({ storeId: 's2', printerId: 'p1', ready: false });
        expect(new Set(due.map((d) => d.event.id)).size).toBe(3);
        expect((sent?.seq ?? 0) > (created?.seq ?? 0)).toBe(true);
        expect(due[0]?.webhook).toEqual(webhook('all-jobs', ['job.state'], 'all'));
        // The backlog (a metric) counts deliveries until they are done, failed attempts included.
        expect(await store.pendingDeliveries()).toBe(3);
        await store.markDelivered('all-jobs', created?.seq ?? 0, T0 + 5);
        await store.markDeliveryFailed('all-jobs', sent?.seq ?? 0, {
          error: 'HTTP 500',
          at: T0 + 5,
          nextAttemptAt: T0 + 60_000,
        });
        expect(await store.pendingDeliveries()).toBe(2);
        await store.markDeliveryFailed('s2-everything', paper?.seq ?? 0, {
          error: 'gave up',
          at: T0 + 6,
          nextAttemptAt: null,
        });
        expect(await store.pendingDeliveries()).toBe(1);
      });

      it('queues an identity conflict as a store event for the webhooks that want it', async () => {
        await store.addWebhook(webhook('jobs-only', ['job.state'], 'all'));
        await store.addWebhook(webhook('conflicts', ['store.identity-conflict'], ['s1']));
        await store.recordIdentityConflict('s1', T0 + 3, { storeId: 's1', next: { clientId: 's1:agent' } });
        expect(await store.fanOutEvents(100)).toBe(1);
        const due = await store.dueDeliveries(T0, 100);
        expect(due.map((d) => [d.webhook.id, d.event.type, d.event.storeId, d.event.at])).toEqual([
          ['conflicts', 'store.identity-conflict', 's1', T0 + 3],
        ]);
        expect(due[0]?.event.data).toEqual({ storeId: 's1', next: { clientId: 's1:agent' } });
      });

      it('fans out at most `limit` events at a time, in order', async () => {
        await store.addWebhook(webhook('w', ['job.state'], 'all'));
        for (const id of ['a', 'b', 'c']) await store.createJob(newJob({ id }));
        expect(await store.fanOutEvents(2)).toBe(2);
        expect(await store.fanOutEvents(2)).toBe(1);
        const jobIds = (await store.dueDeliveries(T0, 10)).map(
          (d) => (d.event.data as { jobId: string }).jobId,
        );
        expect(jobIds).toEqual(['a', 'b', 'c']);
      });

      it('retries a failed delivery when it is due, and stops after success or giving up', async () => {
        await store.addWebhook(webhook('w', ['job.state'], 'all'));
        await store.createJob(newJob({ id: 'a' }));
        await store.createJob(newJob({ id: 'b' }));
        await store.fanOutEvents(10);
        const [first, second] = await store.dueDeliveries(T0, 10);
        if (!first || !second) throw new Error('two deliveries expected');
        await store.markDeliveryFailed('w', first.event.seq, {
          error: 'HTTP 503',
          at: T0 + 1,
          nextAttemptAt: T0 + 1000,
        });
        await store.markDelivered('w', second.event.seq, T0 + 1);
        expect(await store.dueDeliveries(T0 + 999, 10)).toEqual([]);
        const retry = await store.dueDeliveries(T0 + 1000, 10);
        expect(retry.map((d) => [d.event.seq, d.attempts])).toEqual([[first.event.seq, 1]]);
        await store.markDeliveryFailed('w', first.event.seq, {
          error: 'HTTP 503',
          at: T0 + 1001,
          nextAttemptAt: null,
        });
        expect(await store.dueDeliveries(T0 + 10 * MIN, 10)).toEqual([]);
      });

      it('drops the deliveries of a removed webhook', async () => {
        await store.addWebhook(webhook('w', ['job.state'], 'all'));
        await store.createJob(newJob({ id: 'a' }));
        await store.fanOutEvents(10);
        await store.removeWebhook('w');
        expect(await store.dueDeliveries(T0, 10)).toEqual([]);
      });
    });

    describe('orders', () => {
      it('keeps the latest version of each order, per store, source and number', async () => {
        await store.putOrder(order('s1', 'MT-1', T0, '{"v":1}'));
        await store.putOrder(order('s2', 'MT-1', T0, '{"other":"store"}'));
        await store.putOrder({ ...order('s1', 'MT-1', T0 + 5, '{"v":2}'), cancelledAt: T0 + 5 });
        expect(await store.getOrder('s1', 'meituan', 'MT-1')).toEqual({
          ...order('s1', 'MT-1', T0 + 5, '{"v":2}'),
          cancelledAt: T0 + 5,
        });
        expect((await store.getOrder('s2', 'meituan', 'MT-1'))?.body).toBe('{"other":"store"}');
        expect(await store.getOrder('s1', 'eleme', 'MT-1')).toBeNull();
      });

      it('numbers template versions per kind and owner, newest first', async () => {
        const save = (kind: string, storeId: string | null, body: string) =>
          store.addTemplateVersion({ kind, storeId, body, savedBy: 'k1', comment: null, savedAt: T0 });
        expect((await save('kitchen', null, 'a')).version).toBe(1);
        expect((await save('kitchen', null, 'b')).version).toBe(2);
        expect((await save('kitchen', 's1', 'c')).version).toBe(1);
        expect((await save('receipt', null, 'd')).version).toBe(1);
        expect(
          (await store.templateVersions('kitchen', null)).map((v) => [v.version, v.body, v.storeId]),
        ).toEqual([
          [2, 'b', null],
          [1, 'a', null],
        ]);
        expect((await store.templateVersions('kitchen', 's1')).map((v) => v.body)).toEqual(['c']);
        await store.removeStore('s1');
        expect(await store.templateVersions('kitchen', 's1')).toEqual([]);
        expect(await store.templateVersions('kitchen', null)).toHaveLength(2);
      });

      it("keeps each store's menu routing, the latest one", async () => {
        expect(await store.getMenu('s1')).toBeNull();
        await store.putMenu('s1', '{"rules":[]}', T0);
        await store.putMenu('s1', '{"rules":[{"sku":"A","station":"bar"}]}', T0 + 1);
        expect(await store.getMenu('s1')).toBe('{"rules":[{"sku":"A","station":"bar"}]}');
        expect(await store.getMenu('s2')).toBeNull();
        await store.removeStore('s1');
        expect(await store.getMenu('s1')).toBeNull();
      });
    });

    describe('prune', () => {
      it('deletes old final jobs, seen event ids and finished deliveries, keeping what is still needed', async () => {
        await store.addWebhook(webhook('w', ['job.state'], 'all'));
        await store.createJob(newJob({ id: 'old-printed' }));
        await store.transitionJob('old-printed', 'printed', { at: T0 + 1 });
        await store.createJob(newJob({ id: 'old-open' }));
        await store.createJob(newJob({ id: 'new-printed', createdAt: T0 + 10 * MIN }));
        await store.transitionJob('new-printed', 'printed', { at: T0 + 10 * MIN });
        await store.rememberAgentEvent('s1', 'old', T0);
        await store.rememberAgentEvent('s1', 'new', T0 + 10 * MIN);
        await store.fanOutEvents(100);
        const due = await store.dueDeliveries(T0 + 10 * MIN, 100);
        // All but the last delivered; the last still to be retried.
        for (const d of due.slice(0, -1)) await store.markDelivered('w', d.event.seq, T0 + 10 * MIN);
        const pending = due.at(-1);

        const before = T0 + 5 * MIN;
        await store.prune({ agentEvents: before, webhookEvents: T0 + 60 * MIN, jobs: before });

        expect(await store.getJob('old-printed')).toBeNull();
        expect((await store.timelines(['old-printed'])).get('old-printed')).toEqual([]);
        expect(await store.getJob('old-open')).not.toBeNull();
        expect(await store.getJob('new-printed')).not.toBeNull();
        expect(await store.agentEventSeen('s1', 'old')).toBe(false);
        expect(await store.agentEventSeen('s1', 'new')).toBe(true);
        // An hour on: past any lease a store puts on a delivery it handed out (several relay processes).
        expect((await store.dueDeliveries(T0 + 60 * MIN, 100)).map((d) => d.event)).toEqual([pending?.event]);
      });

      it('deletes orders not touched since the jobs cut-off', async () => {
        await store.putOrder(order('s1', 'OLD', T0));
        await store.putOrder(order('s1', 'NEW', T0 + 10 * MIN));
        await store.prune({ agentEvents: T0, webhookEvents: T0, jobs: T0 + 5 * MIN });
        expect(await store.getOrder('s1', 'meituan', 'OLD')).toBeNull();
        expect(await store.getOrder('s1', 'meituan', 'NEW')).not.toBeNull();
      });
    });
  });
}
