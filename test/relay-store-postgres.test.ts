// The relay store contract (test/support/store-contract.ts) on PostgreSQL, each test on a fresh
// database of one throwaway server; then what only several relay processes on one database
// need: work handed out once, migrations that take turns, every process told every change,
// and a clear error for a server that is not there.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/ports.js';
import { PostgresServer } from '../harness/postgres.js';
import { waitFor } from '../harness/wait.js';
import { SecretBox } from '../relay/secret-box.js';
import type { StoreChange } from '../relay/store/changes.js';
import type { RelayStore } from '../relay/store/job-store.js';
import { openPostgresStore } from '../relay/store/postgres/open.js';
import { silentLog } from '../shared/log.js';
import { tempDir } from './relay-helpers.js';
import { storeContract } from './support/store-contract.js';

let server: PostgresServer;
let databases = 0;
const dir = tempDir();
const secrets = SecretBox.forDataDir(dir);

beforeAll(async () => {
  server = await PostgresServer.start();
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const freshDatabase = () => server.createDatabase(`contract_${++databases}`);

storeContract('PostgreSQL', async () => openPostgresStore(await freshDatabase(), secrets, silentLog));

describe('PostgreSQL store, several relay processes on one database', () => {
  const T0 = Date.UTC(2026, 0, 1, 12);

  async function twoProcesses(): Promise<[RelayStore, RelayStore]> {
    const url = await freshDatabase();
    // Two opens at once: the migrations take turns under their lock.
    const stores = await Promise.all([
      openPostgresStore(url, secrets, silentLog),
      openPostgresStore(url, secrets, silentLog),
    ]);
    return stores as [RelayStore, RelayStore];
  }

  it('hands each job to one process to send, and each webhook delivery to one to deliver', async () => {
    const [a, b] = await twoProcesses();
    try {
      await a.createStore({ id: 's1', name: 'Store 1', createdAt: T0 });
      await a.setPresence('s1', { online: true, connectionId: 'c1', agentVersion: '1', at: T0 });
      await a.addWebhook({
        id: 'wh1',
        url: 'https://hooks.example/1',
        secret: 'sealed-secret',
        events: ['job.state'],
        stores: 'all',
        createdAt: T0,
      });
      const ids = Array.from({ length: 40 }, (_, i) => `job-${i}`);
      for (const id of ids) {
        await b.createJob({
          id,
          storeId: 's1',
          printer: 'kitchen',
          kind: 'ticket',
          payload: '{}',
          copies: 1,
          onExpiry: 'expire',
          expiresAt: T0 + 3600_000,
          createdAt: T0,
          orderRef: null,
          reprintOf: null,
          reprintCount: 0,
          idempotency: null,
        });
      }
      // Both processes see every job as due and race to claim each one.
      const [dueA, dueB] = await Promise.all([a.jobsToSend(T0, 100), b.jobsToSend(T0, 100)]);
      expect(dueA).toHaveLength(40);
      expect(dueB).toHaveLength(40);
      const claims = await Promise.all(
        ids.flatMap((id) => [a.markSent(id, T0 + 1, T0), b.markSent(id, T0 + 1, T0)]),
      );
      expect(claims.filter(Boolean)).toHaveLength(40);
      for (let i = 0; i < ids.length; i++) expect(claims[2 * i] !== claims[2 * i + 1]).toBe(true);
      const timelines = await a.timelines(ids);
      for (const id of ids) expect(timelines.get(id)?.map((t) => t.state)).toEqual(['accepted', 'sent']);

      // Every event (80 job states and the store coming online) fanned out once, and every due
      // delivery picked by one process only.
      const fanned = await Promise.all([a.fanOutEvents(30), b.fanOutEvents(30), a.fanOutEvents(30)]);
      expect(fanned.reduce((n, x) => n + x, 0)).toBe(81);
      expect(await a.pendingDeliveries()).toBe(80);
      const [pickedA, pickedB] = await Promise.all([
        a.dueDeliveries(T0 + 2, 100),
        b.dueDeliveries(T0 + 2, 100),
      ]);
      const picked = [...pickedA, ...pickedB].map((d) => d.event.seq);
      expect(picked).toHaveLength(80);
      expect(new Set(picked).size).toBe(80);
      expect(pickedA[0]?.webhook.secret ?? pickedB[0]?.webhook.secret).toBe('sealed-secret');
      // Until the lease runs out nobody picks them again; after it, a process that died is replaced.
      expect(await a.dueDeliveries(T0 + 3, 100)).toHaveLength(0);
      expect(await b.dueDeliveries(T0 + 2 + 121_000, 100)).toHaveLength(80);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("tells every process's change feed each committed change, in commit order", async () => {
    const [a, b] = await twoProcesses();
    const seenA: StoreChange[] = [];
    const seenB: StoreChange[] = [];
    a.changes.subscribe((c) => seenA.push(c));
    b.changes.subscribe((c) => seenB.push(c));
    try {
      await a.createStore({ id: 's1', name: 'Store 1', createdAt: T0 });
      await a.setPresence('s1', { online: true, connectionId: 'c1', agentVersion: '1', at: T0 });
      await b.setPresence('s1', { online: false, connectionId: 'c1', agentVersion: '1', at: T0 + 1 });
      const expected = [
        { type: 'presence', storeId: 's1', online: true, at: T0 },
        { type: 'presence', storeId: 's1', online: false, at: T0 + 1 },
      ];
      await waitFor(() => seenA.length === 2 && seenB.length === 2, 'both feeds told', 5000);
      expect(seenA).toEqual(expected);
      expect(seenB).toEqual(expected);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('says which server it cannot reach, without the password', async () => {
    const url = `postgres://printrelay:hunter2@127.0.0.1:${await freePort()}/relay`;
    const err = await openPostgresStore(url, secrets, silentLog).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      /^cannot use PostgreSQL at postgres:\/\/printrelay:\*\*\*@127\.0\.0\.1:\d+\/relay: /,
    );
    expect(err?.message).not.toContain('hunter2');
  });
});
