// Events an agent sends for jobs that are not its store's are counted and summarised, not
// logged and stored one by one, and a store that floods them has its batches dropped.
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { FailureWindow } from '../relay/failure-limiter.js';
import type { Log } from '../shared/log.js';
import { FakeAgent, jobBody, startTestRelay, type TestRelay, waitFor } from './relay-helpers.js';

const lines: string[] = [];
const log: Log = { info: () => {}, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
let t: TestRelay | null = null;
let agents: FakeAgent[] = [];
/** Closes the agents and the relay, which logs its last summary. */
async function closeRelay(): Promise<void> {
  for (const a of agents) await a.close();
  agents = [];
  await t?.close();
  t = null;
}
afterEach(async () => {
  await closeRelay();
  lines.length = 0;
});

/** A relay (in `t`) with store s1 and its agent connected; summaries only when it closes. */
async function relayWithAgent(limit?: FailureWindow): Promise<{ relay: TestRelay; agent: FakeAgent }> {
  const relay = await startTestRelay({
    log,
    ignoredEvents: { ...(limit ? { limit } : {}), summaryMs: 3_600_000 },
  });
  t = relay;
  const agent = await FakeAgent.connect(relay.relay.urls.mqtt, await relay.store('s1'));
  agents.push(agent);
  return { relay, agent };
}

const unknownJobEvents = (n: number) =>
  Array.from({ length: n }, () => ({
    id: randomUUID(),
    at: new Date().toISOString(),
    type: 'job-state',
    jobId: `no-such-job-${randomUUID()}`,
    state: 'printed',
  }));

/** Seen event ids are not in the store's interfaces: read them beside the relay (WAL allows it). */
function seenRows(t: TestRelay, storeId: string): number {
  const db = new Database(join(t.dataDir, 'relay.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT count(*) AS n FROM agent_events_seen WHERE store_id = ?').get(storeId) as {
      n: number;
    };
    return row.n;
  } finally {
    db.close();
  }
}

function dbBytes(dataDir: string): number {
  let n = 0;
  for (const f of ['relay.db', 'relay.db-wal']) {
    try {
      n += statSync(join(dataDir, f)).size;
    } catch {}
  }
  return n;
}

describe('events for jobs a store does not have', () => {
  it('are acknowledged, counted in one summary line, and neither logged nor stored one by one', async () => {
    t = await startTestRelay({ log, ignoredEvents: { summaryMs: 3_600_000 } });
    const creds = await t.store('s1');
    await t.store('s2');
    const agent = await FakeAgent.connect(t.relay.urls.mqtt, creds);
    agents.push(agent);
    await agent.hello();
    const otherStoresJob = await t.createJob(jobBody('s2'));
    const before = dbBytes(t.dataDir);

    const events = [
      ...unknownJobEvents(400),
      { id: randomUUID(), at: new Date().toISOString(), type: 'job-received', jobId: otherStoresJob },
      { id: randomUUID(), at: new Date().toISOString(), type: 'no-such-type' },
    ];
    await agent.publishBatch(events);
    await waitFor(() => events.every((e) => agent.acked.has(e.id)), 'acks for the ignored events');

    expect(seenRows(t, 's1')).toBe(1); // the hello only
    expect(dbBytes(t.dataDir) - before).toBeLessThan(64 * 1024);
    expect((await t.relay.store.getJob(otherStoresJob))?.state).toBe('accepted');
    expect(lines).toEqual([]);
    await closeRelay();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^store s1: ignored events in the last \d+ s: /);
    expect(lines[0]).toContain('401 not its job');
    expect(lines[0]).toContain('1 invalid');
  });

  it('drop the batches of a store that floods them, unacknowledged and unread', async () => {
    const { relay, agent } = await relayWithAgent({ maxFailures: 1000, windowMs: 60_000 });
    const batches = Array.from({ length: 100 }, () => unknownJobEvents(500));
    for (const b of batches) await agent.publishBatch(b);
    await relay.relay.uplinkIdle();
    // 1000 ignored events are allowed per window: the first two batches, and no more.
    const acked = batches.map((b) => b.every((e) => agent.acked.has(e.id)));
    expect(acked.slice(0, 2)).toEqual([true, true]);
    expect(acked.slice(2).some(Boolean)).toBe(false);
    expect(seenRows(relay, 's1')).toBe(0);

    await closeRelay();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/: 1000 not its job .*dropped 98 batch\(es\) unread/);
  });

  it('hear a throttled store again once its window has passed', async () => {
    const { relay, agent } = await relayWithAgent({ maxFailures: 10, windowMs: 2000 });
    await agent.send(...unknownJobEvents(10));
    const job = await relay.createJob(jobBody('s1'));
    await agent.publishBatch([
      { id: randomUUID(), at: new Date().toISOString(), type: 'job-received', jobId: job },
    ]);
    await relay.relay.uplinkIdle();
    expect((await relay.relay.store.getJob(job))?.state).not.toBe('delivered');

    await new Promise((r) => setTimeout(r, 2100));
    await agent.send({ type: 'job-received', jobId: job });
    expect((await relay.relay.store.getJob(job))?.state).toBe('delivered');
  });
});
