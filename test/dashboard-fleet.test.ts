// The fleet queries behind the dashboard's overview on a real SQLite file with many stores:
// paging, search, "problems only", worst-first order and store scope are done by the database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unknownPrinterStatus } from '../protocol/status.js';
import type { RelayStore } from '../relay/store/job-store.js';
import { openRelayStore } from '../relay/store/open.js';

const STORES = 1200;
let dir: string;
let store: RelayStore;

const ready = {
  ...unknownPrinterStatus(),
  connected: true,
  online: true,
  paper: 'ok' as const,
  source: 'asb' as const,
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'printrelay-fleet-'));
  store = openRelayStore(dir);
  for (let i = 0; i < STORES; i++) {
    const id = `s${String(i).padStart(5, '0')}`;
    await store.createStore({ id, name: i === 777 ? '徐汇天钥桥路店' : `门店 ${i}`, createdAt: 0 });
    const paper = i === 5 ? ('out' as const) : i === 6 ? ('near-end' as const) : ('ok' as const);
    await store.recordHello(id, {
      agentVersion: '1',
      instanceId: 'x',
      printers: [{ id: 'receipt', roles: ['receipt'], status: { ...ready, paper } }],
      at: 2,
      statusAt: 2,
    });
    if (i % 100 === 0)
      await store.setPresence(id, { online: false, connectionId: 'c', agentVersion: '1', at: 3 });
  }
}, 120_000);

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('dashboard fleet queries', () => {
  it('pages all stores worst first: offline, then errors, then warnings, then ready', async () => {
    const first = await store.dashboard.fleetPage({
      scope: 'all',
      search: null,
      problemsOnly: false,
      offset: 0,
      limit: 50,
    });
    expect(first.total).toBe(STORES);
    expect(first.stores).toHaveLength(50);
    expect(first.stores.slice(0, 12).map((s) => s.online)).toEqual([...Array(12).fill(false)]);
    expect(first.stores[12]?.id).toBe('s00005');
    expect(first.stores[12]?.printers[0]?.condition).toBe('paper-out');
    expect(first.stores[13]?.id).toBe('s00006');
    const last = await store.dashboard.fleetPage({
      scope: 'all',
      search: null,
      problemsOnly: false,
      offset: 1150,
      limit: 50,
    });
    expect(last.stores).toHaveLength(50);
    expect(last.stores.at(-1)?.id).toBe('s01199');
    const past = await store.dashboard.fleetPage({
      scope: 'all',
      search: null,
      problemsOnly: false,
      offset: 5000,
      limit: 50,
    });
    expect(past).toEqual({ total: STORES, stores: [] });
  });

  it('filters problems only, searches id and name, and keeps to the scope', async () => {
    const problems = await store.dashboard.fleetPage({
      scope: 'all',
      search: null,
      problemsOnly: true,
      offset: 0,
      limit: 50,
    });
    expect(problems.total).toBe(14);
    const byName = await store.dashboard.fleetPage({
      scope: 'all',
      search: '天钥桥',
      problemsOnly: false,
      offset: 0,
      limit: 50,
    });
    expect(byName.stores.map((s) => s.id)).toEqual(['s00777']);
    const byId = await store.dashboard.fleetPage({
      scope: 'all',
      search: 's0100',
      problemsOnly: false,
      offset: 0,
      limit: 50,
    });
    expect(byId.total).toBe(10);
    const literal = await store.dashboard.fleetPage({
      scope: 'all',
      search: '%',
      problemsOnly: false,
      offset: 0,
      limit: 50,
    });
    expect(literal.total).toBe(0);
    const scoped = await store.dashboard.fleetPage({
      scope: ['s00005', 's00010'],
      search: null,
      problemsOnly: false,
      offset: 0,
      limit: 50,
    });
    expect(scoped.stores.map((s) => s.id)).toEqual(['s00005', 's00010']);
    const totals = await store.dashboard.fleetTotals(['s00005', 's00006'], 0);
    expect(totals).toMatchObject({ storesOnline: 2, storesOffline: 0, printersError: 1, printersWarning: 1 });
  });
});
