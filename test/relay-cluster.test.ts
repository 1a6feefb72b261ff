// Two relay processes on one PostgreSQL and one Redis (docs/scaling.md), as children of the
// test build, with throwaway servers: an order taken by either prints on the agent connected
// to the other; relay A killed with -9 mid-stream, the agent moves to B (its alternate URL)
// and every job that got a 201 prints exactly once; PostgreSQL and Redis killed and restarted
// in turn, the relays say they are not ready while it lasts, recover by themselves and lose
// nothing.
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Client as PgClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayProcess } from '../chaos/processes.js';
import { type ClusterMember, startClusterEngines } from '../harness/cluster-engines.js';
import type { PostgresServer } from '../harness/postgres.js';
import type { RedisServer } from '../harness/redis.js';
import type { JobRequest } from '../protocol/job.js';
import { TOPIC_ROOT, topics } from '../protocol/topics.js';
import { runAdmin } from '../relay/admin-channel.js';
import type { VirtualPrinter } from '../virtual-printer/virtual-printer.js';
import { AgentSide } from './support/agent-side.js';
import { CLI_PATH } from './support/build.js';
import {
  type AgentProcess,
  ApiClient,
  E2e,
  freePort,
  markedJob,
  ticketsWith,
  waitFor,
} from './support/e2e.js';

const e2e = new E2e();
let pg: PostgresServer;
let redis: RedisServer;
let cluster: ClusterMember;
let a: RelayProcess;
let b: RelayProcess;
let apiA: ApiClient;
let apiB: ApiClient;
let printer: VirtualPrinter;
let agent: AgentProcess;

async function relay(name: string): Promise<RelayProcess> {
  const r = new RelayProcess(
    CLI_PATH,
    join(e2e.tempDir(), name),
    await freePort(),
    await freePort(),
    undefined,
    cluster,
  );
  e2e.onClose(() => r.kill9());
  await r.start();
  return r;
}

const ready = async (r: RelayProcess) => (await fetch(`${r.httpUrl}/readyz`)).status;

/** POST /v1/jobs as a load balancer would: to `first`, and to `other` when `first` does not answer. */
async function submit(first: ApiClient, other: ApiClient, job: JobRequest, key: string): Promise<string> {
  for (const api of [first, other]) {
    const res = await api.postJob(job, key).catch(() => null);
    if (res?.status === 201) return ((await res.json()) as { jobId: string }).jobId;
  }
  throw new Error(`job ${key}: neither relay took it`);
}

beforeAll(async () => {
  const engines = await startClusterEngines();
  e2e.onClose(() => engines.stop());
  ({ pg, redis } = engines);
  cluster = await engines.cluster('relay');
  [a, b] = [await relay('a'), await relay('b')];
  const key = await a.addKey('all');
  apiA = new ApiClient(a, key);
  apiB = new ApiClient(b, key);

  const creds = await a.addStore('s1');
  printer = await e2e.printer();
  agent = await e2e.agent(a, creds, [{ id: 'counter', uri: printer.uri, roles: ['receipt'] }], [b]);
  await agent.start();
  await waitFor(() => apiB.storeOnline('s1'), 'store s1 online, as relay B sees it', 15_000);
}, 120_000);

afterAll(async () => {
  await e2e.close();
});

describe('relay cluster: two processes on PostgreSQL and Redis', { timeout: 120_000 }, () => {
  it('prints an order taken by relay B on the agent connected to relay A', async () => {
    expect(await agent.status().then((s) => s.relay.url)).toBe(a.mqttUrl);
    const jobId = await submit(apiB, apiA, markedJob('s1', 'VIA-B-1'), 'via-b-1');
    await apiA.waitForState(jobId, 'printed');
    expect(ticketsWith(printer, 'VIA-B-1')).toBe(1);
    expect(await ready(a)).toBe(200);
    expect(await ready(b)).toBe(200);
  });

  it("the agent's downlink is three Redis channels, not a pattern every publish would be matched against", async () => {
    const r = new Redis(redis.url);
    try {
      const channels = (await r.pubsub('CHANNELS', `${TOPIC_ROOT}/s1/*`)) as string[];
      expect(channels.sort()).toEqual(topics.agentSubscriptions('s1').sort());
    } finally {
      r.disconnect();
    }
  });

  it('two agents with one identity on two relay processes: the first is told and backs off, the store stays online, one conflict is recorded', async () => {
    const creds = await a.addStore('s2');
    const first = new AgentSide(creds, a.mqttUrl);
    e2e.onClose(() => first.link.close());
    first.link.start();
    await waitFor(() => apiB.storeOnline('s2'), 'store s2 online, its agent on relay A', 15_000);
    let offlineSeen = false;
    const watch = setInterval(() => {
      apiB.storeOnline('s2').then(
        (online) => {
          if (!online) offlineSeen = true;
        },
        () => {},
      );
    }, 20);
    try {
      // A cloned store PC: the same identity, through relay B.
      const second = new AgentSide(creds, b.mqttUrl);
      e2e.onClose(() => second.link.close());
      second.link.start();
      await waitFor(
        () => first.link.identityConflictAt,
        'the first agent to be told of the takeover',
        15_000,
      );
      expect(first.link.lastError).toMatch(/another agent is using this store's identity/);
      await waitFor(() => second.link.connected, 'the second agent to hold the connection', 15_000);
      // The first waits a minute or more instead of pushing the second off in turn.
      await new Promise((r) => setTimeout(r, 2000));
      expect(first.link.connected).toBe(false);
      expect(second.link.connected).toBe(true);
    } finally {
      clearInterval(watch);
    }
    expect(offlineSeen).toBe(false);
    const db = new PgClient({ connectionString: cluster.database });
    await db.connect();
    try {
      const { rows } = await db.query(
        "SELECT data FROM relay_events WHERE type = 'store.identity-conflict' AND store_id = 's2'",
      );
      expect(rows).toHaveLength(1);
      expect(JSON.parse(rows[0].data)).toMatchObject({
        previous: { clientId: creds.clientId },
        next: { clientId: creds.clientId },
      });
    } finally {
      await db.end();
    }
  });

  it("disabling the store through relay B's admin closes its agent's connection on relay A", async () => {
    const { result } = await runAdmin(b.dataDir, 'stores.disable', { storeId: 's1' });
    expect(result.disconnected).toBe(0); // not on B
    await waitFor(async () => !(await apiA.storeOnline('s1')), 'store s1 offline', 10_000);
    expect((await agent.status()).relay.connected).toBe(false);
    await runAdmin(b.dataDir, 'stores.enable', { storeId: 's1' });
    await waitFor(() => apiA.storeOnline('s1'), 'store s1 back online', 30_000);
  });

  it('kill -9 relay A mid-stream: the agent moves to B and every job that got a 201 prints exactly once', async () => {
    const markers: string[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      if (i === 12) await a.kill9();
      const marker = `KILL-A-${i}`;
      markers.push(marker);
      // Half go to A first (a load balancer's round robin); once A is dead, they fall to B.
      ids.push(await submit(i % 2 ? apiA : apiB, i % 2 ? apiB : apiA, markedJob('s1', marker), marker));
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const id of ids) await apiB.waitForState(id, 'printed', 60_000);
    for (const marker of markers) expect(ticketsWith(printer, marker), marker).toBe(1);
    expect(await agent.status().then((s) => s.relay.url)).toBe(b.mqttUrl);
    // A comes back and takes orders again, for the agent now on B.
    await a.start();
    const again = await submit(apiA, apiB, markedJob('s1', 'A-AGAIN'), 'a-again');
    await apiB.waitForState(again, 'printed');
    expect(ticketsWith(printer, 'A-AGAIN')).toBe(1);
  });

  it('PostgreSQL down: 503 and not ready; back by itself, nothing lost', async () => {
    await pg.crash();
    await waitFor(async () => (await ready(b)) === 503, 'relay B not ready', 10_000);
    const res = await apiB.postJob(markedJob('s1', 'PG-DOWN'), 'pg-down');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toMatch(/database is unreachable/);
    await pg.resume();
    await waitFor(
      async () => (await ready(b)) === 200 && (await ready(a)) === 200,
      'both ready again',
      30_000,
    );
    // The order source retries with the same key: one job, printed once.
    const jobId = await submit(apiB, apiA, markedJob('s1', 'PG-DOWN'), 'pg-down');
    await apiB.waitForState(jobId, 'printed', 30_000);
    expect(ticketsWith(printer, 'PG-DOWN')).toBe(1);
  });

  it('Redis down: orders still accepted, not ready; back by itself, and they print once', async () => {
    await redis.kill9();
    await waitFor(async () => (await ready(a)) === 503, 'relay A not ready', 10_000);
    const ids = [
      await submit(apiA, apiB, markedJob('s1', 'REDIS-DOWN-A'), 'redis-down-a'),
      await submit(apiB, apiA, markedJob('s1', 'REDIS-DOWN-B'), 'redis-down-b'),
    ];
    await redis.resume();
    await waitFor(
      async () => (await ready(a)) === 200 && (await ready(b)) === 200,
      'both ready again',
      30_000,
    );
    for (const id of ids) await apiB.waitForState(id, 'printed', 60_000);
    expect(ticketsWith(printer, 'REDIS-DOWN-A')).toBe(1);
    expect(ticketsWith(printer, 'REDIS-DOWN-B')).toBe(1);
  });
});
